import { BadRequestException, Inject, Injectable, ServiceUnavailableException } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { createHash, createHmac, createPublicKey, type KeyObject, timingSafeEqual } from 'node:crypto';
import { Clock } from '../core/clock.js';
import { ContextSlot, RequestContexts, rawRequest, rawResponse } from '../core/request-context.js';
import { StoreFailurePolicy } from '../store/store-failure.policy.js';
import { ZERO_TRUST_STORE } from '../store/store.internal-constants.js';
import type { ZeroTrustStore } from '../store/zero-trust-store.js';
import { AccessTokenRejection } from './access-token-rejection.js';
import { AUTH_CONFIG } from './auth.internal-constants.js';
import type { AuthConfig } from './auth.options.js';
import { DpopRejection } from './dpop-rejection.js';
import { jwkThumbprint } from './jwk-thumbprint.js';
import { decodeJws, type DecodedJws, type JwsAlgorithm, verifyJwsSignature } from './jws.js';
import { SENDER_CONSTRAINT_CONFIG } from './sender-constraint.internal-constants.js';
import type { DpopAlgorithm, SenderConstraintConfig } from './sender-constraint.options.js';

/** A DPoP proof whose every RFC 9449 §4.3 check passed, and whose `jti` is now spent. Only this verifier makes one. */
export interface VerifiedDpopProof {
  /** RFC 7638 thumbprint of the proof's key: what `cnf.jkt` of a token bound to it says. */
  readonly jkt: string;
  readonly jti: string;
  readonly iat: number;
}

/** What a proof must match besides itself. */
export interface DpopProofExpectations {
  /** The access token sent with the proof (RFC 9449 §4.3 check 12: `ath`); none at a token endpoint. */
  readonly accessToken?: string;
  /** The `cnf.jkt` of that token: the proof must be signed by that very key (RFC 9449 §7.1). */
  readonly jkt?: string;
}

type HttpRequest = { headers?: Record<string, unknown>; originalUrl?: string; url?: string; method?: string };

/** JWK members that only a private or symmetric key has (RFC 7517 / 7518 §6): a proof must carry a public key only (§4.3 check 7). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
const UNRESERVED = /[A-Za-z0-9\-._~]/;
const JTI = /^[\x21-\x7e]{8,256}$/;
const KEY_CACHE_LIMIT = 1000;
const made = new WeakSet<VerifiedDpopProof>();
/** The proof `forTokenRequest` verified for the current request, for SessionService to bind the session to. */
const TOKEN_REQUEST_PROOF = new ContextSlot<VerifiedDpopProof>('zero-trust:dpop-token-request-proof');

/** The DPoP proof verified by `DpopProofVerifier.forTokenRequest()` for the request being served, if any. */
export function currentDpopProof(): VerifiedDpopProof | undefined {
  return TOKEN_REQUEST_PROOF.get();
}

/** Whether `proof` came out of `DpopProofVerifier.verify` (not an object a caller built to look like one). */
export function isVerifiedDpopProof(proof: unknown): proof is VerifiedDpopProof {
  return typeof proof === 'object' && proof !== null && made.has(proof as VerifiedDpopProof);
}

/**
 * Verifies DPoP proofs (RFC 9449 §4.3), at the API and at the app's login and refresh endpoints.
 *
 * Built on node:crypto and the module's own JWS code rather than jose: verification is synchronous
 * (jose's is WebCrypto, a key import and a promise per request), the proof's key is parsed once per
 * thumbprint and cached, and no runtime dependency is added. Tests check it against the independent
 * `dpop` client library and jose's thumbprints.
 *
 * The `jti` of every accepted proof is recorded in the ZeroTrustStore for as long as its `iat` could
 * still pass, so a proof replayed to this instance or to any other sharing the store (Redis) fails.
 * That record is the last check, made only for a proof that passed every other one.
 */
@Injectable()
export class DpopProofVerifier {
  private readonly keys = new Map<string, KeyObject>();
  private readonly algorithms: ReadonlySet<string>;
  /** Header value of the `algs` challenge parameter (RFC 9449 §7.1), computed once. */
  readonly algs: string;

  constructor(
    @Inject(SENDER_CONSTRAINT_CONFIG) private readonly config: SenderConstraintConfig,
    @Inject(AUTH_CONFIG) private readonly auth: AuthConfig,
    @Inject(ZERO_TRUST_STORE) private readonly store: ZeroTrustStore,
    private readonly storeFailures: StoreFailurePolicy,
    private readonly clock: Clock,
    private readonly audit: AuditService,
  ) {
    this.algorithms = new Set(config.dpop.algorithms);
    this.algs = config.dpop.algorithms.join(' ');
  }

  get enabled(): boolean {
    return this.config.enabled;
  }

  /** Whether the request carries a `DPoP` header at all: the sign that a client asks for a bound token at login or refresh. */
  presented(request: object): boolean {
    return this.headerValues(request).length > 0;
  }

  /**
   * For a login, refresh or token endpoint (RFC 9449 §5): the request's proof, verified, when it
   * carries one (bind the tokens to `proof.jkt`), or undefined when it carries none (issue bearer
   * tokens, or refuse, as the endpoint decides). A bad proof is audited and answered 400 with the RFC's
   * error code as the message (`invalid_dpop_proof`, or `use_dpop_nonce` with a `DPoP-Nonce` header).
   */
  async forTokenRequest(request: object, response: object): Promise<VerifiedDpopProof | undefined> {
    if (!this.presented(request)) return undefined;
    try {
      const proof = await this.verify(request);
      TOKEN_REQUEST_PROOF.set(RequestContexts.of(request), proof);
      this.sendNonce(response);
      return proof;
    } catch (error) {
      if (!(error instanceof DpopRejection)) throw error;
      this.audit.publish({ type: 'auth.failure', outcome: 'failure', reason: error.reason });
      if (error.error === 'use_dpop_nonce') this.sendNonce(response);
      throw new BadRequestException(error.error === 'use_dpop_nonce' ? 'use_dpop_nonce' : 'invalid_dpop_proof');
    }
  }

  /** Sets `DPoP-Nonce` on a response when nonces are on (RFC 9449 §8.2: any response may carry a fresh one). */
  sendNonce(response: object): void {
    const nonce = this.currentNonce();
    if (nonce) rawResponse(response).setHeader('DPoP-Nonce', nonce);
  }

  /**
   * Checks the request's DPoP proof against its method and URI, the access token sent with it, the
   * nonce when nonces are on, and replays; throws a `DpopRejection` naming the failed check.
   */
  async verify(request: object, expected: DpopProofExpectations = {}): Promise<VerifiedDpopProof> {
    if (!this.config.enabled) throw new DpopRejection('dpop_disabled', 'DPoP is turned off (senderConstraint: false)');
    const values = this.headerValues(request);
    if (values.length === 0) throw new DpopRejection('dpop_proof_missing', 'no DPoP header');
    // §4.3 check 1: exactly one. Two proofs let a proxy and the app each read a different one.
    if (values.length > 1 || values[0].includes(',')) throw new DpopRejection('dpop_proof_multiple', 'more than one DPoP header');
    let proof: DecodedJws;
    try {
      proof = decodeJws(values[0]);
    } catch (error) {
      if (error instanceof AccessTokenRejection) throw new DpopRejection('dpop_proof_malformed', error.message);
      throw error;
    }
    const { header, claims } = proof;
    if (header.typ !== 'dpop+jwt') throw new DpopRejection('dpop_wrong_type', `typ ${JSON.stringify(header.typ)} is not dpop+jwt`);
    if (typeof header.alg !== 'string' || !this.algorithms.has(header.alg)) {
      throw new DpopRejection('dpop_algorithm_not_allowed', `alg ${JSON.stringify(header.alg)} is not accepted`);
    }
    // The key comes from the proof itself; nothing may point elsewhere for it (RFC 8725 §3.10).
    for (const name of ['jku', 'x5u', 'x5c', 'kid', 'crit']) {
      if (name in header) throw new DpopRejection('dpop_proof_malformed', `header "${name}" is not accepted in a proof`);
    }
    const jwk = header.jwk;
    if (jwk === null || typeof jwk !== 'object' || Array.isArray(jwk)) throw new DpopRejection('dpop_bad_key', 'jwk is missing');
    const jwkObject = jwk as Record<string, unknown>;
    if (PRIVATE_MEMBERS.some((name) => name in jwkObject)) throw new DpopRejection('dpop_bad_key', 'jwk carries private or symmetric key material');
    const jkt = jwkThumbprint(jwkObject);
    if (!jkt) throw new DpopRejection('dpop_bad_key', 'jwk is not an EC, OKP or RSA public key');
    // Before anything is spent: a proof by another key, for this token, is not the token holder's.
    if (expected.jkt !== undefined && !equal(jkt, expected.jkt)) throw new DpopRejection('dpop_key_mismatch', 'the proof is not signed by the key the token is bound to');
    const key = this.publicKey(jkt, jwkObject, header.alg as DpopAlgorithm);
    if (proof.signature.length === 0 || !verifyJwsSignature(proof, jwsAlgorithm(header.alg as DpopAlgorithm), key)) {
      throw new DpopRejection('dpop_bad_signature', 'the proof signature does not verify with its jwk');
    }
    const { jti, htm, htu, iat } = claims;
    if (typeof jti !== 'string' || !JTI.test(jti)) throw new DpopRejection('dpop_proof_malformed', 'jti is missing or not 8-256 printable characters');
    const raw = rawRequest(request);
    if (typeof htm !== 'string' || htm !== raw.method) throw new DpopRejection('dpop_wrong_method', `htm ${JSON.stringify(htm)} is not ${raw.method}`);
    if (typeof htu !== 'string' || !this.uriMatches(htu, request)) throw new DpopRejection('dpop_wrong_uri', 'htu is not the URI of this request');
    if (typeof iat !== 'number' || !Number.isFinite(iat)) throw new DpopRejection('dpop_proof_malformed', 'iat is missing');
    const now = this.clock.now() / 1000;
    const window = this.config.dpop.proofWindow + this.auth.clockTolerance;
    if (Math.abs(now - iat) > window) throw new DpopRejection('dpop_stale', 'iat is outside the accepted window');
    if (expected.accessToken !== undefined) {
      const ath = createHash('sha256').update(expected.accessToken, 'ascii').digest('base64url');
      if (typeof claims.ath !== 'string' || !equal(claims.ath, ath)) throw new DpopRejection('dpop_wrong_token', 'ath is not the hash of the access token sent');
    }
    this.checkNonce(claims.nonce);
    await this.spend(jkt, jti, window);
    const verified: VerifiedDpopProof = Object.freeze({ jkt, jti, iat });
    made.add(verified);
    return verified;
  }

  /** The nonce to send in `DPoP-Nonce`, or undefined when nonces are off. Changes every `nonce.lifetime` seconds. */
  currentNonce(): string | undefined {
    const nonce = this.config.dpop.nonce;
    if (!nonce) return undefined;
    return this.nonceFor(Math.floor(this.clock.now() / 1000 / nonce.lifetime));
  }

  private nonceCache?: { window: number; value: string };

  private nonceFor(window: number): string {
    const nonce = this.config.dpop.nonce;
    if (!nonce) throw new Error('nonces are off');
    if (this.nonceCache?.window === window) return this.nonceCache.value;
    const counter = Buffer.alloc(8);
    counter.writeBigUInt64BE(BigInt(window));
    const mac = createHmac('sha256', nonce.secret).update('zero-trust:dpop-nonce:').update(counter).digest().subarray(0, 18);
    const value = Buffer.concat([counter, mac]).toString('base64url');
    if (window === Math.floor(this.clock.now() / 1000 / nonce.lifetime)) this.nonceCache = { window, value };
    return value;
  }

  /**
   * RFC 9449 §8: with nonces on, a proof must carry one of ours: the current window's or the one
   * before (a client that fetched it just before the change). Stateless: an HMAC of the window, so
   * every instance with the same `nonce.secret` accepts the others' nonces.
   */
  private checkNonce(value: unknown): void {
    const nonce = this.config.dpop.nonce;
    if (!nonce) return;
    if (typeof value !== 'string') throw new DpopRejection('dpop_nonce_required', 'the proof has no nonce');
    const current = Math.floor(this.clock.now() / 1000 / nonce.lifetime);
    if (!equal(value, this.nonceFor(current)) && !equal(value, this.nonceFor(current - 1))) {
      throw new DpopRejection('dpop_nonce_invalid', 'the nonce is not one this server issued recently');
    }
  }

  /**
   * Records the `jti` (per key) for as long as a proof with its `iat` could pass, atomically: of two
   * requests racing with one proof, on one instance or two, exactly one claims it (a flag: never evicted by a flood). A store that
   * does not answer cannot tell a replay: the request fails closed (503), whatever `onStoreFailure` says.
   */
  private async spend(jkt: string, jti: string, window: number): Promise<void> {
    const key = `dpop-jti:${createHash('sha256').update(`${jkt}\n${jti}`).digest('base64url')}`;
    let first: boolean;
    try {
      first = await this.store.claim(key, Math.ceil(window * 2 * 1000));
    } catch (error) {
      try {
        this.storeFailures.handle(error, 'auth');
      } catch {
        // Reported and refused just below.
      }
      throw new ServiceUnavailableException('Service temporarily unavailable');
    }
    if (!first) throw new DpopRejection('dpop_replay', 'this proof was used before');
  }

  private publicKey(jkt: string, jwk: Record<string, unknown>, alg: DpopAlgorithm): KeyObject {
    let key = this.keys.get(jkt);
    if (!key) {
      try {
        key = createPublicKey({ key: jwk as never, format: 'jwk' });
      } catch {
        throw new DpopRejection('dpop_bad_key', 'jwk is not a valid public key');
      }
      if (this.keys.size >= KEY_CACHE_LIMIT) this.keys.delete(this.keys.keys().next().value as string);
      this.keys.set(jkt, key);
    }
    // The alg only selects among what the key can do: an RSA key never verifies an "ES256" proof.
    const type = key.asymmetricKeyType;
    const fits =
      alg === 'ES256'
        ? type === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1'
        : alg === 'RS256'
          ? type === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048
          : type === 'ed25519';
    if (!fits) throw new DpopRejection('dpop_bad_key', `the jwk is not a key for ${alg}`);
    return key;
  }

  /**
   * RFC 9449 §4.3 check 9: `htu` is the request's URI without query and fragment, compared after
   * syntax- and scheme-based normalisation (RFC 3986 §6.2.2-6.2.3): case of scheme and host, default
   * ports, dot segments, percent-encoding of unreserved characters and the case of the others.
   */
  private uriMatches(htu: string, request: object): boolean {
    const claimed = normaliseUri(htu);
    if (!claimed) return false;
    const raw = rawRequest(request);
    const target = (request as HttpRequest).originalUrl ?? raw.url ?? '';
    if (!target.startsWith('/')) return false;
    const path = normalisePath(new URL(target, 'http://localhost').pathname);
    const origins = this.config.dpop.origins;
    if (origins.length > 0) return origins.some((origin) => claimed === origin + path);
    // No configured origin: the request's own. The Host header is the client's word, but so is the
    // proof: an attacker gains nothing by matching them, the proof must still be fresh and signed.
    const host = raw.headers.host;
    if (typeof host !== 'string' || host === '') return false;
    const scheme = (raw.socket as { encrypted?: boolean } | undefined)?.encrypted ? 'https' : 'http';
    return claimed === normaliseUri(`${scheme}://${host}${path}`);
  }

  private headerValues(request: object): string[] {
    const raw = rawRequest(request);
    const values: string[] = [];
    const rawHeaders = raw.rawHeaders;
    if (rawHeaders) {
      for (let i = 0; i < rawHeaders.length; i += 2) {
        if (rawHeaders[i].length === 4 && rawHeaders[i].toLowerCase() === 'dpop') values.push(rawHeaders[i + 1]);
      }
      return values;
    }
    const value = (raw.headers ?? (request as HttpRequest).headers)?.dpop;
    return typeof value === 'string' ? [value] : Array.isArray(value) ? value.map(String) : [];
  }
}

function jwsAlgorithm(alg: DpopAlgorithm): JwsAlgorithm {
  // RFC 9864 names the Ed25519 instance of EdDSA "Ed25519"; both verify the same way.
  return alg === 'Ed25519' ? 'EdDSA' : alg;
}

function equal(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function normaliseUri(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username || url.password) return undefined;
  // WHATWG URL already lowercases scheme and host, drops default ports and resolves dot segments.
  return url.origin + normalisePath(url.pathname);
}

function normalisePath(path: string): string {
  return path.replace(/%[0-9a-fA-F]{2}/g, (escape) => {
    const char = String.fromCharCode(Number.parseInt(escape.slice(1), 16));
    return UNRESERVED.test(char) ? char : escape.toUpperCase();
  });
}

import { Inject, Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../core/clock.js';
import type { ZeroTrustPrincipal } from '../core/principal.interface.js';
import { StoreFailurePolicy } from '../store/store-failure.policy.js';
import { ZERO_TRUST_STORE } from '../store/store.internal-constants.js';
import type { ZeroTrustStore } from '../store/zero-trust-store.js';
import { AccessTokenRejection } from './access-token-rejection.js';
import { AUTH_CONFIG } from './auth.internal-constants.js';
import type { AuthConfig } from './auth.options.js';
import { JwksKeySource, type ResolvedExternalIssuer } from './external-issuer.js';
import { type DecodedJws, decodeJws, type JwsAlgorithm, JwsHeaderCache, verifyJwsSignature } from './jws.js';
import type { ResolvedKey } from './key-ring.js';
import { PrincipalBlocklist } from './principal-blocklist.js';
import { type ClaimsMapper, PrincipalClaims } from './principal-claims.js';
import { SessionCheck } from './session-check.port.js';
import type { KeyBinding } from './verified-token.cache.js';

/** RFC 9068 §2.1: access tokens are typed, so an ID token or any other JWT is never taken for one. */
const ACCESS_TOKEN_TYPES = new Set(['at+jwt', 'application/at+jwt']);
/**
 * Headers that tell a verifier where to find a key (RFC 8725 §3.10 / CVE-2018-0114): the key must
 * come from our configuration only, so a token carrying any of them is refused outright.
 */
const KEY_LOCATING_HEADERS = ['jku', 'jwk', 'x5u', 'x5c'] as const;
const OWN_CLAIMS = PrincipalClaims.standard();

/**
 * Verifies access tokens, each check in the order an attacker would probe them, each failure with its
 * own typed reason: header policy before any key is chosen, the key bound to its issuer and algorithm,
 * the signature, then the claims (`exp`, `nbf`, `iat`, `iss`, `aud`, a maximum lifetime) and the session.
 */
@Injectable()
export class AccessTokenVerifier {
  private readonly external: ReadonlyMap<string, JwksKeySource>;
  /** The key each principal's token was verified with, for the verified-token cache (see `keyBindingOf`). */
  private readonly bindings = new WeakMap<ZeroTrustPrincipal, KeyBinding>();
  /** The deny list of external principals, asked on every request (the module also provides it by class). */
  readonly blocklist: PrincipalBlocklist;
  /** The few distinct headers of the tokens this app accepts, decoded once each. */
  private readonly headers = new JwsHeaderCache();

  constructor(
    @Inject(AUTH_CONFIG) private readonly config: AuthConfig,
    private readonly sessions: SessionCheck,
    private readonly clock: Clock,
    @Inject(ZERO_TRUST_STORE) store: ZeroTrustStore,
    private readonly storeFailures: StoreFailurePolicy,
    audit: AuditService,
  ) {
    this.external = new Map(config.externalIssuers.map((issuer) => [issuer.issuer, new JwksKeySource(issuer, clock)]));
    this.blocklist = new PrincipalBlocklist(store, config, audit);
  }

  /** Verifies `rawToken`; every refusal is a rejected promise with its typed reason. */
  verify(rawToken: string): Promise<ZeroTrustPrincipal> {
    try {
      return Promise.resolve(this.verifyNow(rawToken));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * `verify` without a promise when none is needed: for this app's own tokens whose session's state is
   * cached (or with sessions off), the principal itself, and a refusal thrown. A promise when a key must
   * be fetched (external issuers), a session read or a deny list asked. The guard's path for a token it
   * has not seen (issue 16: the cold path made 20 promises per request).
   */
  verifyNow(rawToken: string): ZeroTrustPrincipal | Promise<ZeroTrustPrincipal> {
    const token = decodeJws(rawToken, this.headers);
    const { header, claims } = token;
    for (const name of KEY_LOCATING_HEADERS) {
      if (name in header) throw new AccessTokenRejection('forbidden_header', `header "${name}" is not accepted`);
    }
    // RFC 7515 §4.1.11: a recipient must reject a token whose `crit` names an extension it does not implement. We implement none.
    if ('crit' in header) throw new AccessTokenRejection('unsupported_crit', 'critical header extensions are not supported');
    if (typeof claims.iss !== 'string') throw new AccessTokenRejection('missing_claim', 'iss is required');
    // The unverified `iss` only picks whose keys to try; the signature then holds the token to that issuer.
    const own = claims.iss === this.config.issuer;
    const source = own ? undefined : this.external.get(claims.iss);
    if (!own && !source) throw new AccessTokenRejection('wrong_issuer', 'unknown issuer');
    const allowed: readonly string[] = source ? source.issuer.algorithms : this.config.algorithms;
    if (typeof header.alg !== 'string' || !allowed.includes(header.alg)) {
      throw new AccessTokenRejection('algorithm_not_allowed', `alg ${JSON.stringify(header.alg)} is not allowed`);
    }
    const alg = header.alg as JwsAlgorithm;
    const typeRequired = source ? source.issuer.requireAccessTokenType : true;
    if (typeRequired && (typeof header.typ !== 'string' || !ACCESS_TOKEN_TYPES.has(header.typ.toLowerCase()))) {
      throw new AccessTokenRejection('wrong_type', `typ ${JSON.stringify(header.typ)} is not at+jwt`);
    }
    // After the header policy, so `alg: none` with no signature is reported as the algorithm it is.
    if (token.signature.length === 0) throw new AccessTokenRejection('malformed', 'the signature is missing');
    if (source) return this.verifyExternal(token, alg, source);
    return this.verifiedWith(token, alg, this.config.keyRing.find(header.kid, alg), undefined);
  }

  /** An external issuer's token: its key may have to be fetched from the issuer's JWKS first. */
  private async verifyExternal(token: DecodedJws, alg: JwsAlgorithm, source: JwksKeySource): Promise<ZeroTrustPrincipal> {
    return this.verifiedWith(token, alg, await source.find(token.header.kid, alg), source);
  }

  private verifiedWith(token: DecodedJws, alg: JwsAlgorithm, key: ResolvedKey | undefined, source: JwksKeySource | undefined): ZeroTrustPrincipal | Promise<ZeroTrustPrincipal> {
    if (!key) throw new AccessTokenRejection('unknown_key', 'no configured key matches kid and alg');
    if (!verifyJwsSignature(token, alg, key.verifyKey)) throw new AccessTokenRejection('bad_signature', 'the signature does not verify');
    const principal = this.principalOf(
      token.claims,
      source?.issuer.claims ?? OWN_CLAIMS,
      source ? source.issuer.audiences : this.config.audiences,
      source ? source.issuer.maxTokenLifetime : this.config.maxTokenLifetime,
      source?.issuer,
    );
    const pending = this.checkStillValid(principal);
    // Bound once it is valid: the cache asks the binding only of principals the guard accepted.
    this.bindings.set(principal, this.bind(key, token.header.kid, alg, source));
    return pending === undefined ? principal : pending.then(() => principal);
  }

  /**
   * How the verified-token cache asks whether the key that verified `principal` is still trusted:
   * for our own keys, whether the key ring would still choose it; for an external issuer, whether its
   * JWKS, within its max staleness, still publishes it. `undefined` for a principal this verifier did
   * not make (such a principal is never cached).
   */
  keyBindingOf(principal: ZeroTrustPrincipal): KeyBinding | undefined {
    return this.bindings.get(principal);
  }

  private bind(key: ResolvedKey, kid: unknown, alg: JwsAlgorithm, source: JwksKeySource | undefined): KeyBinding {
    if (source) return { stillTrusted: () => source.serves(key) };
    // Read at every hit: a key ring reloaded without the key ends the verifications it made.
    return { stillTrusted: () => this.config.keyRing.find(kid, alg) === key };
  }

  private principalOf(
    claims: Readonly<Record<string, unknown>>,
    mapper: ClaimsMapper,
    audiences: readonly string[],
    maxLifetime: number,
    external: ResolvedExternalIssuer | undefined,
  ): ZeroTrustPrincipal {
    const { exp, iat, nbf, sub, iss } = claims;
    if (typeof exp !== 'number' || !Number.isFinite(exp)) throw new AccessTokenRejection('missing_claim', 'exp is required');
    if (typeof iat !== 'number' || !Number.isFinite(iat)) throw new AccessTokenRejection('missing_claim', 'iat is required');
    if (typeof sub !== 'string' || sub === '') throw new AccessTokenRejection('missing_claim', 'sub is required');
    if (claims.aud === undefined) throw new AccessTokenRejection('missing_claim', 'aud is required');
    const tokenAudiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!tokenAudiences.some((aud) => typeof aud === 'string' && audiences.includes(aud))) {
      throw new AccessTokenRejection('wrong_audience', 'audience not accepted for this issuer');
    }
    const now = this.clock.now() / 1000;
    const tolerance = this.config.clockTolerance;
    if (exp + tolerance <= now) throw new AccessTokenRejection('expired', 'the token has expired');
    if (nbf !== undefined && (typeof nbf !== 'number' || nbf > now + tolerance)) throw new AccessTokenRejection('not_yet_valid', 'nbf is in the future');
    if (iat > now + tolerance) throw new AccessTokenRejection('issued_in_future', 'iat is in the future');
    // A stolen signing key or a misconfigured issuer could mint long-lived tokens; cap what we accept.
    if (exp - iat > maxLifetime) throw new AccessTokenRejection('lifetime_exceeded', `exp - iat exceeds ${maxLifetime}s`);
    const mapped = mapper(claims);
    const subject = mapped.subject ?? sub;
    if (typeof subject !== 'string' || subject === '') throw new AccessTokenRejection('missing_claim', 'the claims mapping gave no subject');
    const amr = Array.isArray(claims.amr) ? claims.amr.filter((m): m is string => typeof m === 'string') : [];
    const principal: ZeroTrustPrincipal = Object.freeze({
      subject,
      // OpenID Connect Core §5.7: `sub` is unique within its issuer only; see ZeroTrustPrincipal.ownerId.
      ownerId: external ? `${external.issuer}#${subject}` : subject,
      // An external issuer's word counts only as far as its mapping allows (issue 13.7): a provider's
      // `scope: notes:admin` or `amr: [mfa]` grants nothing here unless listed for that provider.
      scopes: Object.freeze(external ? allowed(mapped.scopes, external.allowedScopes) : [...mapped.scopes]),
      roles: Object.freeze(external ? allowed(mapped.roles, external.allowedRoles) : [...mapped.roles]),
      sessionId: typeof claims.sid === 'string' ? claims.sid : undefined,
      tokenId: typeof claims.jti === 'string' ? claims.jti : undefined,
      issuer: iss as string,
      authMethods: Object.freeze(external ? trustedAmr(amr, external.trustAmr) : amr),
      expiresAt: exp,
      // The object JSON.parse made for this token alone (decodeJws): frozen in place, not copied.
      claims: Object.freeze(claims),
    });
    return principal;
  }

  /**
   * What must be asked again on every request, even for a token whose signature was verified before:
   * has it expired; for our own tokens with sessions on, is its session still live; for an external
   * principal, has an operator blocked it? Revocation must hold before expiry.
   */
  assertStillValid(principal: ZeroTrustPrincipal): Promise<void> {
    try {
      return this.checkStillValid(principal) ?? RESOLVED;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * `assertStillValid` without a promise when the answer is known now: `undefined` when the principal
   * may proceed, a refusal thrown, or a promise when the session must be read or the deny list asked.
   */
  checkStillValid(principal: ZeroTrustPrincipal): Promise<void> | undefined {
    if (principal.expiresAt + this.config.clockTolerance <= this.clock.now() / 1000) {
      throw new AccessTokenRejection('expired', 'the token has expired');
    }
    if (principal.issuer !== this.config.issuer) return this.assertNotBlocked(principal);
    if (!this.sessions.enabled) return undefined;
    if (!principal.sessionId) throw new AccessTokenRejection('missing_session', 'sessions are enabled and the token has no sid');
    const now = this.sessions.isActiveNow(principal.sessionId, principal);
    if (now === true) return undefined;
    if (now === false) throw sessionRevoked();
    return this.sessions.isActive(principal.sessionId, principal).then((active) => {
      if (!active) throw sessionRevoked();
    });
  }

  private async assertNotBlocked(principal: ZeroTrustPrincipal): Promise<void> {
    if (await this.isBlocked(principal)) throw new AccessTokenRejection('principal_blocked', 'the principal is on the deny list');
  }

  private async isBlocked(principal: ZeroTrustPrincipal): Promise<boolean> {
    try {
      return await this.blocklist.isBlocked(principal.issuer, principal.subject);
    } catch (error) {
      // A deny list that cannot be read cannot be enforced: `onStoreFailure.auth` decides (closed: 503).
      this.storeFailures.handle(error, 'auth');
      return false;
    }
  }
}

const RESOLVED = Promise.resolve();

function sessionRevoked(): AccessTokenRejection {
  return new AccessTokenRejection('session_revoked', 'the session was revoked or expired');
}

function allowed(values: readonly string[], allowList: readonly string[]): string[] {
  return allowList.length === 0 ? [] : [...new Set(values.filter((value) => allowList.includes(value)))];
}

function trustedAmr(values: readonly string[], trust: boolean | readonly string[]): string[] {
  if (trust === true) return [...values];
  return trust === false ? [] : values.filter((value) => trust.includes(value));
}

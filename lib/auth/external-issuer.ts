import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { ZeroTrustConfigurationError } from '../zero-trust-configuration.error.js';
import { AccessTokenRejection } from './access-token-rejection.js';
import { type ResolvedKey, resolveKey } from './key-ring.js';

export type ExternalIssuerAlgorithm = 'ES256' | 'RS256';

/** An identity provider whose access tokens this API accepts (OpenID Connect / OAuth 2.0). */
export interface ExternalIssuerOptions {
  /** Exact `iss` of its tokens. */
  issuer: string;
  /** Where its public keys are. Keys are fetched from here only, never from a URL inside a token. */
  jwksUri: string;
  /** The `aud` its tokens must carry for this API. */
  audience: string | string[];
  /** Default `['RS256', 'ES256']`. */
  algorithms?: ExternalIssuerAlgorithm[];
  /** Require `typ: at+jwt` (RFC 9068). Default true; some providers still send `JWT`. */
  requireAccessTokenType?: boolean;
  /** Longest `exp - iat` accepted, in seconds. Default 3600. */
  maxTokenLifetime?: number;
  /** How long fetched keys are trusted, in seconds. Default 600. */
  cacheTtl?: number;
  /** Fewest seconds between two fetches (an unknown `kid` cannot make us hammer the provider). Default 30. */
  minRefetchInterval?: number;
  /** Fetch timeout in milliseconds. Default 3000. */
  timeoutMs?: number;
}

export type ResolvedExternalIssuer = Required<Omit<ExternalIssuerOptions, 'audience'>> & { audiences: readonly string[] };

const MAX_JWKS_BYTES = 256 * 1024;
const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

export function resolveExternalIssuer(options: ExternalIssuerOptions, where: string, ownIssuer: string): ResolvedExternalIssuer {
  if (!options || typeof options.issuer !== 'string' || options.issuer === '') throw new ZeroTrustConfigurationError(`${where}.issuer is required.`);
  if (options.issuer === ownIssuer) throw new ZeroTrustConfigurationError(`${where}.issuer is this app's own issuer; external issuers must differ.`);
  let uri: URL;
  try {
    uri = new URL(options.jwksUri);
  } catch {
    throw new ZeroTrustConfigurationError(`${where}.jwksUri must be an absolute URL (got ${JSON.stringify(options.jwksUri)}).`);
  }
  // Plain HTTP would let anyone on the path swap the keys; only loopback is exempt (local development, tests).
  if (uri.protocol !== 'https:' && !(uri.protocol === 'http:' && LOCAL_HOSTS.has(uri.hostname))) {
    throw new ZeroTrustConfigurationError(`${where}.jwksUri must use https (got ${uri.protocol}).`);
  }
  const audiences = (Array.isArray(options.audience) ? options.audience : [options.audience]).filter((a) => typeof a === 'string' && a !== '');
  if (audiences.length === 0) throw new ZeroTrustConfigurationError(`${where}.audience is required.`);
  const algorithms = options.algorithms ?? ['RS256', 'ES256'];
  for (const alg of algorithms) {
    if (alg !== 'RS256' && alg !== 'ES256') throw new ZeroTrustConfigurationError(`${where}.algorithms may list RS256 and ES256 (got ${JSON.stringify(alg)}).`);
  }
  const positive = (name: keyof ExternalIssuerOptions, value: number | undefined, fallback: number, max: number) => {
    const result = value ?? fallback;
    if (!Number.isInteger(result) || result < 1 || result > max) throw new ZeroTrustConfigurationError(`${where}.${name} must be a whole number from 1 to ${max}.`);
    return result;
  };
  return {
    issuer: options.issuer,
    jwksUri: uri.toString(),
    audiences,
    algorithms,
    requireAccessTokenType: options.requireAccessTokenType ?? true,
    maxTokenLifetime: positive('maxTokenLifetime', options.maxTokenLifetime, 3600, 86_400),
    cacheTtl: positive('cacheTtl', options.cacheTtl, 600, 86_400),
    minRefetchInterval: positive('minRefetchInterval', options.minRefetchInterval, 30, 3600),
    timeoutMs: positive('timeoutMs', options.timeoutMs, 3000, 60_000),
  };
}

/**
 * The keys of one external issuer: fetched on first use, kept for `cacheTtl`, refetched on an unknown
 * `kid` at most once per `minRefetchInterval`. When the provider cannot be reached and no fresh keys
 * are held, verification fails closed.
 */
export class JwksKeySource {
  private keys = new Map<string, ResolvedKey>();
  private fetchedAt = 0;
  private lastAttempt = Number.NEGATIVE_INFINITY;
  private inflight?: Promise<void>;

  constructor(
    readonly issuer: ResolvedExternalIssuer,
    private readonly clock: () => number = Date.now,
  ) {}

  async find(kid: unknown, alg: string): Promise<ResolvedKey> {
    if (typeof kid !== 'string') throw new AccessTokenRejection('unknown_key', 'external tokens must name their key (kid)');
    const now = this.clock();
    const fresh = now - this.fetchedAt < this.issuer.cacheTtl * 1000;
    const mayFetch = now - this.lastAttempt >= this.issuer.minRefetchInterval * 1000;
    if ((!fresh || !this.keys.has(kid)) && mayFetch) await this.refresh();
    if (this.clock() - this.fetchedAt >= this.issuer.cacheTtl * 1000) {
      throw new AccessTokenRejection('issuer_unavailable', `no fresh keys for ${this.issuer.issuer}`);
    }
    const key = this.keys.get(kid);
    if (!key || key.alg !== alg) throw new AccessTokenRejection('unknown_key', 'no key of the issuer matches kid and alg');
    return key;
  }

  private refresh(): Promise<void> {
    this.inflight ??= this.fetchKeys().finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  private async fetchKeys(): Promise<void> {
    this.lastAttempt = this.clock();
    try {
      const response = await fetch(this.issuer.jwksUri, {
        redirect: 'error',
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(this.issuer.timeoutMs),
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const text = await response.text();
      if (text.length > MAX_JWKS_BYTES) throw new Error('JWKS too large');
      const document = JSON.parse(text) as { keys?: unknown };
      if (!Array.isArray(document.keys)) throw new Error('no keys array');
      const keys = new Map<string, ResolvedKey>();
      for (const jwk of document.keys as Array<JsonWebKey & { kid?: unknown; alg?: unknown; use?: unknown }>) {
        const key = this.toKey(jwk);
        if (key) keys.set(key.kid, key);
      }
      this.keys = keys;
      this.fetchedAt = this.clock();
    } catch {
      // Keep serving keys that are still fresh; once they are stale, find() fails closed.
    }
  }

  private toKey(jwk: JsonWebKey & { kid?: unknown; alg?: unknown; use?: unknown }): ResolvedKey | undefined {
    if (typeof jwk.kid !== 'string' || (jwk.use !== undefined && jwk.use !== 'sig') || 'd' in jwk) return undefined;
    const alg = typeof jwk.alg === 'string' ? jwk.alg : jwk.kty === 'RSA' ? 'RS256' : jwk.kty === 'EC' && jwk.crv === 'P-256' ? 'ES256' : undefined;
    if (!alg || !this.issuer.algorithms.includes(alg as ExternalIssuerAlgorithm)) return undefined;
    try {
      return resolveKey({ kid: jwk.kid, alg: alg as ExternalIssuerAlgorithm, publicKey: createPublicKey({ key: jwk, format: 'jwk' }) }, `jwks(${this.issuer.issuer})`);
    } catch {
      return undefined;
    }
  }
}

import { ServiceUnavailableException } from '@nestjs/common';
import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { Clock, SystemClock } from '../core/clock.js';
import { array, boolean, custom, defaulted, object, oneOf, seconds, string } from '../core/option-schema.js';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';
import { type ClaimsMapper, type ClaimsPreset, PrincipalClaims } from './principal-claims.js';
import { AccessTokenRejection } from './access-token-rejection.js';
import { type ResolvedKey, resolveKey } from './key-ring.js';

export type ExternalIssuerAlgorithm = 'ES256' | 'RS256' | 'EdDSA';

/** An identity provider whose access tokens this API accepts (OpenID Connect / OAuth 2.0). */
export interface ExternalIssuerOptions {
  /** Exact `iss` of its tokens. Required. */
  issuer: string;
  /** Where its public keys are. Keys are fetched from here only, never from a URL inside a token. Required. */
  jwksUri: string;
  /** The `aud` its tokens must carry for this API. Required. */
  audience: string | string[];
  /**
   * The `aud` this issuer puts in tokens meant for this app's message handlers, e.g. a client-credentials
   * token of a machine client (`ServiceTokens.verify()`): such a token is a service identity, verified with
   * this issuer's keys and rules, its `jti` required and counted once. Never one of `audience`, so a user's
   * token of the issuer is refused on messages and a service token on HTTP routes. Default none: no token
   * of this issuer is a service identity.
   */
  serviceAudiences?: string[];
  /** Default `['RS256', 'ES256']`. */
  algorithms?: ExternalIssuerAlgorithm[];
  /** Require `typ: at+jwt` (RFC 9068). Default true; some providers still send `JWT`. */
  requireAccessTokenType?: boolean;
  /** How its claims map to subject, scopes and roles: a preset name or a mapper. Default `'standard'`. */
  claims?: ClaimsPreset | ClaimsMapper;
  /** Longest `exp - iat` accepted, in seconds. Default 3600. */
  maxTokenLifetime?: number;
  /** How long fetched keys are trusted, in seconds. Default 600. */
  cacheTtl?: number;
  /** Fewest seconds between two fetches (an unknown `kid` cannot make us hammer the provider). Default 30. */
  minRefetchInterval?: number;
  /** Fetch timeout, in seconds. Default 3. */
  timeout?: number;
  /**
   * The scopes (after `claims` mapping) this issuer may grant here; any other scope in its tokens is
   * dropped. Default none: a provider's `scope: notes:admin` means nothing to this app unless listed.
   */
  allowedScopes?: string[];
  /** The roles (after `claims` mapping) this issuer may grant here; others are dropped. Default none. */
  allowedRoles?: string[];
  /**
   * Whose word on `amr` (RFC 8176) counts: `false` (default) drops the claim, so no token of this issuer
   * satisfies `@RequireMfa()`; a list keeps only those values (e.g. `['mfa', 'hwk']`); `true` keeps all.
   * Only for a provider that enforces the second factor it reports.
   */
  trustAmr?: boolean | string[];
}

export interface ResolvedExternalIssuer {
  readonly issuer: string;
  readonly jwksUri: string;
  readonly audiences: readonly string[];
  readonly serviceAudiences: readonly string[];
  readonly algorithms: readonly ExternalIssuerAlgorithm[];
  readonly requireAccessTokenType: boolean;
  readonly claims: ClaimsMapper;
  readonly maxTokenLifetime: number;
  readonly cacheTtl: number;
  readonly minRefetchInterval: number;
  readonly timeout: number;
  readonly allowedScopes: readonly string[];
  readonly allowedRoles: readonly string[];
  readonly trustAmr: boolean | readonly string[];
}

/** One audience or a list of them, as the module's own `audience` option and each issuer's take it. */
export const audienceSchema = custom<string[]>('a non-empty string or a non-empty list of them', (value) => {
  const list = Array.isArray(value) ? value : [value];
  return list.length > 0 && list.every((item) => typeof item === 'string' && item.trim() !== '') ? (list as string[]) : undefined;
});

const MAX_JWKS_BYTES = 256 * 1024;
const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
const PRESETS = Object.keys(PrincipalClaims) as ClaimsPreset[];

const externalIssuerSchema = object({
  issuer: string(),
  jwksUri: custom<string>('an https URL (http only for loopback)', (value) => {
    if (typeof value !== 'string') return undefined;
    let uri: URL;
    try {
      uri = new URL(value);
    } catch {
      return undefined;
    }
    // Plain HTTP would let anyone on the path swap the keys; only loopback is exempt (local development, tests).
    return uri.protocol === 'https:' || (uri.protocol === 'http:' && LOCAL_HOSTS.has(uri.hostname)) ? uri.toString() : undefined;
  }),
  audience: audienceSchema,
  serviceAudiences: array(string(), { default: [] }),
  algorithms: array(oneOf<ExternalIssuerAlgorithm>(['RS256', 'ES256', 'EdDSA']), { minItems: 1, default: ['RS256', 'ES256'] }),
  requireAccessTokenType: boolean({ default: true }),
  claims: defaulted(
    custom<ClaimsMapper>(`one of ${PRESETS.map((p) => `"${p}"`).join(', ')}, or a function (claims) => { subject?, scopes, roles }`, (value) => {
      if (typeof value === 'function') return value as ClaimsMapper;
      return typeof value === 'string' && PRESETS.includes(value as ClaimsPreset) ? PrincipalClaims[value as ClaimsPreset]() : undefined;
    }),
    () => PrincipalClaims.standard(),
  ),
  maxTokenLifetime: seconds({ min: 1, max: 86_400, default: 3600 }),
  cacheTtl: seconds({ min: 1, max: 86_400, default: 600 }),
  minRefetchInterval: seconds({ min: 0, max: 3600, default: 30 }),
  timeout: seconds({ min: 0.1, max: 60, default: 3 }),
  // RFC 6749 §3.3: a scope token is 1*NQCHAR, no spaces or quotes.
  allowedScopes: array(string({ pattern: /^[\x21\x23-\x5b\x5d-\x7e]+$/, expected: 'a scope token (RFC 6749 §3.3: printable ASCII, no space, quote or backslash)' }), { default: [] }),
  allowedRoles: array(string(), { default: [] }),
  trustAmr: custom<boolean | string[]>('true, false or a non-empty list of amr values (RFC 8176)', (value) => {
    if (value === undefined) return false;
    if (typeof value === 'boolean') return value;
    return Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === 'string' && /^[\x21-\x7e]+$/.test(item)) ? [...value] : undefined;
  }),
});

export function resolveExternalIssuer(options: unknown, where: string, ownIssuer: string): ResolvedExternalIssuer {
  const resolved = externalIssuerSchema.parse(options, where);
  if (resolved.issuer === ownIssuer) throw new ZeroTrustConfigurationError(`${where}.issuer is this app's own issuer; external issuers must differ.`);
  // `<issuer>#<subject>` is an external principal's owner id: an issuer with a `#` could make two of them collide.
  if (resolved.issuer.includes('#')) {
    throw new ZeroTrustConfigurationError(`${where}.issuer must not contain "#" (an issuer identifier has no fragment, OpenID Connect Discovery §3).`);
  }
  // One audience for both would make a user's token a service identity and a service token a user's.
  const shared = resolved.serviceAudiences.find((aud) => resolved.audience.includes(aud));
  if (shared !== undefined) {
    throw new ZeroTrustConfigurationError(
      `${where}.serviceAudiences lists "${shared}", which is also in ${where}.audience: have the provider put another audience in the tokens of its machine clients.`,
    );
  }
  const { audience, ...rest } = resolved;
  return { ...rest, algorithms: rest.algorithms as ExternalIssuerAlgorithm[], audiences: audience };
}

/**
 * The provider's JWKS cannot be reached and the keys held are past `cacheTtl`: no token of that issuer
 * can be checked. That is not the client's fault: a 401 would make its OAuth client discard a good token
 * and count against its address's failure budget. The request gets 503 (the filter adds Retry-After),
 * no `auth.failure` is written, and the filter reports the outage once per incident (`issuer_unavailable`).
 */
export class IssuerUnavailable extends ServiceUnavailableException {
  readonly reason = 'issuer_unavailable';

  constructor(readonly issuer: string) {
    super('Service temporarily unavailable');
  }
}

/**
 * The keys of one external issuer: fetched on first use, kept for `cacheTtl`, refetched on an unknown
 * `kid` at most once per `minRefetchInterval`. When the provider cannot be reached and no fresh keys
 * are held, verification fails closed with 503 (`IssuerUnavailable`), never 401.
 */
export class JwksKeySource {
  private keys = new Map<string, ResolvedKey>();
  private fetchedAt = 0;
  private lastAttempt = Number.NEGATIVE_INFINITY;
  private inflight?: Promise<void>;

  constructor(
    readonly issuer: ResolvedExternalIssuer,
    private readonly clock: Clock = new SystemClock(),
  ) {}

  /**
   * Whether `key` is still the key this issuer publishes for its kid, from keys within their max
   * staleness (`cacheTtl` since the last successful fetch). A cached verification asks it on every hit,
   * so it dies with its key: removed from the JWKS, or no longer vouched for because the provider
   * cannot be reached. No I/O: a stale answer sends the request down the full path, which refetches.
   */
  serves(key: ResolvedKey): boolean {
    return this.clock.now() - this.fetchedAt < this.issuer.cacheTtl * 1000 && this.keys.get(key.kid) === key;
  }

  async find(kid: unknown, alg: string): Promise<ResolvedKey> {
    if (typeof kid !== 'string') throw new AccessTokenRejection('unknown_key', 'external tokens must name their key (kid)');
    const now = this.clock.now();
    const fresh = now - this.fetchedAt < this.issuer.cacheTtl * 1000;
    const mayFetch = now - this.lastAttempt >= this.issuer.minRefetchInterval * 1000;
    if ((!fresh || !this.keys.has(kid)) && mayFetch) await this.refresh();
    if (this.clock.now() - this.fetchedAt >= this.issuer.cacheTtl * 1000) {
      throw new IssuerUnavailable(this.issuer.issuer);
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
    this.lastAttempt = this.clock.now();
    try {
      const response = await fetch(this.issuer.jwksUri, {
        redirect: 'error',
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(this.issuer.timeout * 1000),
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const text = await response.text();
      if (text.length > MAX_JWKS_BYTES) throw new Error('JWKS too large');
      const document = JSON.parse(text) as { keys?: unknown };
      if (!Array.isArray(document.keys)) throw new Error('no keys array');
      const keys = new Map<string, ResolvedKey>();
      for (const jwk of document.keys as Array<JsonWebKey & { kid?: unknown; alg?: unknown; use?: unknown }>) {
        const key = this.toKey(jwk);
        if (!key) continue;
        // The same key published again stays the same object, so verifications cached with it survive the refetch.
        const held = this.keys.get(key.kid);
        keys.set(key.kid, held && held.alg === key.alg && held.verifyKey.equals(key.verifyKey) ? held : key);
      }
      this.keys = keys;
      this.fetchedAt = this.clock.now();
    } catch {
      // Keep serving keys that are still fresh; once they are stale, find() fails closed.
    }
  }

  private toKey(jwk: JsonWebKey & { kid?: unknown; alg?: unknown; use?: unknown }): ResolvedKey | undefined {
    if (typeof jwk.kid !== 'string' || (jwk.use !== undefined && jwk.use !== 'sig') || 'd' in jwk) return undefined;
    const alg =
      typeof jwk.alg === 'string'
        ? jwk.alg
        : jwk.kty === 'RSA'
          ? 'RS256'
          : jwk.kty === 'EC' && jwk.crv === 'P-256'
            ? 'ES256'
            : jwk.kty === 'OKP' && jwk.crv === 'Ed25519'
              ? 'EdDSA'
              : undefined;
    if (!alg || !this.issuer.algorithms.includes(alg as ExternalIssuerAlgorithm)) return undefined;
    try {
      return resolveKey({ kid: jwk.kid, alg: alg as ExternalIssuerAlgorithm, publicKey: createPublicKey({ key: jwk, format: 'jwk' }) }, `jwks(${this.issuer.issuer})`);
    } catch {
      return undefined;
    }
  }
}

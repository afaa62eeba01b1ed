import { Logger } from '@nestjs/common';
import type { CoreConfig } from '../core/core.options.js';
import { array, custom, disableable, integer, object, oneOf, optional, seconds, string } from '../core/option-schema.js';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';
import { audienceSchema, type ExternalIssuerOptions, type ResolvedExternalIssuer, resolveExternalIssuer } from './external-issuer.js';
import {
  ACCESS_TOKEN_ALGORITHMS,
  type AccessTokenAlgorithm,
  generateEphemeralSigningKey,
  KeyRing,
  type ResolvedKey,
  resolveKey,
  type SigningKeyOptions,
} from './key-ring.js';

export interface AuthOptions {
  /** Expected `iss` of access tokens, and the `iss` this app writes when it issues them. Required. */
  issuer: string;
  /** Accepted `aud` values; tokens this app issues carry the first. Required. */
  audience: string | string[];
  /**
   * Signing/verification keys, each bound to one algorithm. When omitted outside production, an
   * ephemeral ES256 key is generated at boot with a warning; in production the module refuses to start.
   */
  keys?: SigningKeyOptions[];
  /** Algorithm allow-list. Default `['ES256']`. `none` can never be listed. */
  algorithms?: AccessTokenAlgorithm[];
  /** `kid` of the key that signs new tokens. Default: the first key that has private material. */
  signingKeyId?: string;
  /** Lifetime of issued access tokens, in seconds. Default 900 (15 min). */
  accessTokenTtl?: number;
  /** Longest `exp - iat` accepted, in seconds, even with a valid signature. Default 900, at most 3600. */
  maxTokenLifetime?: number;
  /** Clock skew allowed on `exp`, `nbf` and `iat`, in seconds. Default 5, at most 60. */
  clockTolerance?: number;
  /**
   * Identity providers whose access tokens are accepted besides this app's own (and, for one that lists
   * `serviceAudiences`, its machine clients' tokens as service identities on messages). Default none.
   */
  externalIssuers?: ExternalIssuerOptions[];
  /**
   * Failed authentications (401s on routes that need a token) allowed per client address (an IPv4
   * address or an IPv6 /64) per window, counted in the store so every instance sees them; past the
   * limit the address gets 429 before any token of it is verified. `false` turns it off.
   */
  authFailureLimit?:
    | false
    | {
        /** Failures allowed per window. Default 50. */
        limit?: number;
        /** Seconds the count runs for, from the first failure. Default 60. */
        window?: number;
        /** Seconds an address over the limit is refused. Default 0: the rest of the window. */
        block?: number;
      };
}

export const authOptionsSchema = object({
  issuer: string(),
  audience: audienceSchema,
  keys: optional(array(custom<SigningKeyOptions>('a key object', (value) => value as SigningKeyOptions))),
  algorithms: custom<AccessTokenAlgorithm[]>(`a non-empty list of ${ACCESS_TOKEN_ALGORITHMS.join(', ')}`, (value, path) => {
    if (value === undefined) return ['ES256'];
    if (!Array.isArray(value) || value.length === 0) return undefined;
    return value.map((alg, i) => {
      if (typeof alg === 'string' && alg.toLowerCase() === 'none') {
        throw new ZeroTrustConfigurationError(`${path}[${i}]: "none" is never allowed (unsigned tokens are never accepted).`);
      }
      return oneOf(ACCESS_TOKEN_ALGORITHMS).parse(alg, `${path}[${i}]`);
    });
  }),
  signingKeyId: optional(string()),
  accessTokenTtl: seconds({ min: 1, max: 3600, default: 900 }),
  maxTokenLifetime: seconds({ min: 1, max: 3600, default: 900 }),
  clockTolerance: seconds({ min: 0, max: 60, default: 5 }),
  externalIssuers: array(custom<unknown>('an external issuer object', (value) => value), { default: [] }),
  authFailureLimit: disableable(
    object({
      limit: integer({ min: 1, max: 1_000_000, default: 50 }),
      window: seconds({ min: 1, max: 86_400, default: 60 }),
      block: seconds({ min: 0, max: 86_400, default: 0 }),
    }),
    { default: 'on' },
  ),
});

/** The failed-authentication budget, resolved. */
export interface AuthFailureLimit {
  readonly limit: number;
  readonly window: number;
  readonly block: number;
}

/** What the authentication providers read: validated, defaulted, keys parsed. Built once at boot. */
export interface AuthConfig {
  readonly issuer: string;
  readonly audiences: readonly string[];
  readonly algorithms: readonly AccessTokenAlgorithm[];
  readonly keyRing: KeyRing;
  readonly accessTokenTtl: number;
  readonly maxTokenLifetime: number;
  readonly clockTolerance: number;
  readonly externalIssuers: readonly ResolvedExternalIssuer[];
  readonly authFailureLimit: AuthFailureLimit | false;
}

export function resolveAuthOptions(raw: Record<string, unknown>, core: CoreConfig): AuthConfig {
  const given = authOptionsSchema.pick(raw);
  const { algorithms } = given;
  if (given.accessTokenTtl > given.maxTokenLifetime) {
    throw new ZeroTrustConfigurationError(
      `accessTokenTtl (${given.accessTokenTtl}) is longer than maxTokenLifetime (${given.maxTokenLifetime}): this app would issue tokens it refuses.`,
    );
  }

  let keyOptions = given.keys;
  if (!keyOptions || keyOptions.length === 0) {
    if (core.production) {
      throw new ZeroTrustConfigurationError(
        'no signing keys configured in production. Set `keys` (for example from a PKCS#8 PEM in an environment ' +
          'variable; generate one with `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`).',
      );
    }
    if (!algorithms.includes('ES256')) {
      throw new ZeroTrustConfigurationError('no keys configured and ES256 is not allowed, so no ephemeral key can be made: set `keys`.');
    }
    new Logger('ZeroTrustModule').warn(
      'No signing keys configured: generated an EPHEMERAL ES256 key. Tokens die at every restart and are not ' +
        'shared between instances. Configure `keys` before production (the module refuses to start there without them).',
    );
    keyOptions = [generateEphemeralSigningKey()];
  }
  const kids = new Set<string>();
  const keys: ResolvedKey[] = keyOptions.map((key, i) => {
    const resolved = resolveKey(key, `keys[${i}]`);
    if (kids.has(resolved.kid)) throw new ZeroTrustConfigurationError(`keys[${i}].kid "${resolved.kid}" is used twice: kids must be unique.`);
    kids.add(resolved.kid);
    if (!algorithms.includes(resolved.alg)) {
      throw new ZeroTrustConfigurationError(
        `keys[${i}] ("${resolved.kid}") is an ${resolved.alg} key but algorithms allows only ${algorithms.join(', ')}: ` +
          `add ${resolved.alg} to \`algorithms\` or remove the key.`,
      );
    }
    return resolved;
  });
  let signingKey: ResolvedKey | undefined;
  if (given.signingKeyId !== undefined) {
    signingKey = keys.find((key) => key.kid === given.signingKeyId);
    if (!signingKey?.signKey) {
      throw new ZeroTrustConfigurationError(`signingKeyId "${given.signingKeyId}" must name a configured key that has a privateKey or secret.`);
    }
  } else {
    signingKey = keys.find((key) => key.signKey);
  }

  const externalIssuers = given.externalIssuers.map((external, i) => resolveExternalIssuer(external, `externalIssuers[${i}]`, given.issuer));
  if (new Set(externalIssuers.map((e) => e.issuer)).size !== externalIssuers.length) {
    throw new ZeroTrustConfigurationError('externalIssuers lists the same issuer twice.');
  }
  return {
    issuer: given.issuer,
    audiences: given.audience,
    algorithms,
    keyRing: new KeyRing(keys, signingKey),
    accessTokenTtl: given.accessTokenTtl,
    maxTokenLifetime: given.maxTokenLifetime,
    clockTolerance: given.clockTolerance,
    externalIssuers,
    authFailureLimit: given.authFailureLimit,
  };
}

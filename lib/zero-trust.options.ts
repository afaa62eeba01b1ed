import { Logger } from '@nestjs/common';
import type { AuditSink } from './audit/audit-sink.interface.js';
import { LoggerAuditSink } from './audit/logger-audit.sink.js';
import {
  ACCESS_TOKEN_ALGORITHMS,
  type AccessTokenAlgorithm,
  generateEphemeralSigningKey,
  KeyRing,
  type ResolvedKey,
  resolveKey,
  type SigningKeyOptions,
} from './auth/key-ring.js';
import { type ExternalIssuerOptions, type ResolvedExternalIssuer, resolveExternalIssuer } from './auth/external-issuer.js';
import { resolveSecurityHeaders, type SecurityHeaderOverrides, type ResolvedHeaders } from './http/security-headers.js';
import { ClientIpResolver } from './http/client-ip.js';
import { type AnomalyRule, bolaProbeRule, distributedLoginFailureRule } from './monitoring/anomaly-rules.js';
import { ZeroTrustConfigurationError } from './zero-trust-configuration.error.js';

/**
 * Options of `ZeroTrustModule.forRoot()` / `forRootAsync()`. Every field is defaulted on its own
 * (see `ZERO_TRUST_DEFAULTS`), so setting one never drops the others.
 */
export interface ZeroTrustModuleOptions {
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
  /** Largest request body accepted, in bytes; larger ones get 413. Default 102400 (100 kB). */
  bodyLimit?: number;
  /** Media types a request body may have; others get 415. Default `['application/json']`. */
  allowedContentTypes?: string[];
  /** App-wide header overrides: a value replaces the default, `false` removes the header. */
  securityHeaders?: SecurityHeaderOverrides;
  /** Where audit events go. Default: one JSON line per event on Nest's Logger. */
  auditSinks?: AuditSink[];
  /**
   * Login sessions with refresh-token rotation and revocation checked on every request. Needs a
   * TypeORM DataSource and the `ZeroTrustSessions1732000100000` migration. Default: off.
   */
  sessions?: SessionOptions | false;
  /** Identity providers whose access tokens are accepted besides this app's own. */
  externalIssuers?: ExternalIssuerOptions[];
  /**
   * `strict` (default): every non-public route must declare a rule (`@OwnsResource`, `@Scopes`, `@Roles`
   * or `@Authenticated`) or the app refuses to start. `report`: such routes are listed as a warning at
   * boot and any signed-in user may call them (for adopting the module in an existing app).
   */
  authorization?: 'strict' | 'report';
  /** Largest page an `OwnedRepository.find()` returns. Default 100. */
  maxPageSize?: number;
  /**
   * Run handlers that touch owned data in a transaction that sets `zero_trust.user_id` (and
   * `zero_trust.scopes`) for the database's row-level-security policies (see LeastPrivilegeRoleMigration).
   * Default false.
   */
  rowLevelSecurity?: boolean;
  /** Injection token of the TypeORM DataSource used by ownership checks. Default: TypeORM's `DataSource`. */
  dataSource?: string | symbol | (abstract new (...args: never[]) => unknown);
  /**
   * At boot, inspect the database role the app connects as (superuser, BYPASSRLS, CREATE on the schema,
   * table ownership, membership in powerful roles): refuse to start in production, warn otherwise.
   * Default `check` (only when a PostgreSQL DataSource is present).
   */
  databasePrivileges?: 'check' | 'off';
  /**
   * Proxies whose X-Forwarded-For entries are believed: a hop count (`1` behind one load balancer) or
   * a list of their addresses/CIDRs. Default: none, so the client is the socket's peer.
   */
  trustProxy?: number | string[];
  /** Rate limits (@nestjs/throttler). Default on: see `ZERO_TRUST_DEFAULTS.throttle`. `false` turns them off. */
  throttle?: ThrottleOptions | false;
  /** Per-account lockout after failed logins (used through `AccountLockoutService`). `false` turns it off. */
  lockout?: LockoutOptions | false;
  /** Shared state for several instances: a Redis URL or an ioredis client. Default: in memory. */
  redis?: string | RedisClientLike;
  /** Prefix of every Redis key the module writes. Default `zt:`. */
  redisKeyPrefix?: string;
  /** What to do when the store (Redis) cannot be reached: per endpoint kind. Default auth `closed`, others `open`. */
  onStoreFailure?: { auth?: 'closed' | 'open'; default?: 'closed' | 'open' };
  /**
   * Rules run over the audit events (see bolaProbeRule, distributedLoginFailureRule). Default: both,
   * with their defaults. `false` or `[]` turns detection off.
   */
  anomalyRules?: AnomalyRule[] | false;
  /** Environment used for production-only checks. Default `process.env.NODE_ENV`. */
  environment?: string;
}

/** Any ioredis client (typed loosely so the package does not require ioredis unless it is used). */
export interface RedisClientLike {
  defineCommand(name: string, definition: { numberOfKeys: number; lua: string }): void;
  status: string;
}

export interface RateLimit {
  /** Requests allowed per window. */
  limit?: number;
  /** Window length in milliseconds. */
  windowMs?: number;
  /** How long a client that went over stays blocked, in milliseconds. Default: the rest of the window. */
  blockMs?: number;
}

export interface ThrottleOptions {
  /** Every route, per route and per caller (the authenticated subject, else the client address). Default 100 per 60 s. */
  default?: RateLimit;
  /** Routes marked `@AuthThrottle()`, per route and client address. Default 10 per 60 s. */
  auth?: RateLimit;
}

export interface LockoutOptions {
  /** Failed logins of one account, from any address, before it is locked. Default 5. */
  threshold?: number;
  /** Window the failures are counted in, in seconds. Default 900. */
  windowSeconds?: number;
  /** First lock, in seconds; doubles with every lock within a day. Default 900. */
  durationSeconds?: number;
  /** Longest lock, in seconds. Default 86400. */
  maxDurationSeconds?: number;
}

export type ResolvedRateLimit = Required<RateLimit>;
export type ResolvedLockoutOptions = Required<LockoutOptions>;

export interface SessionOptions {
  /** Absolute lifetime of a session and its refresh tokens, in seconds. Default 2592000 (30 days). */
  refreshTokenTtl?: number;
  /** A session unused for this long (seconds) is dead. Default 604800 (7 days). */
  idleTimeout?: number;
  /**
   * How long, in milliseconds, an instance may trust its cached answer to "is this session still
   * live?". The worst-case delay before another instance's revocation is enforced. Default 1000.
   */
  revocationCacheMs?: number;
}

export type ResolvedSessionOptions = Required<SessionOptions>;

export const ZERO_TRUST_DEFAULTS = {
  algorithms: ['ES256'] as AccessTokenAlgorithm[],
  accessTokenTtl: 900,
  maxTokenLifetime: 900,
  clockTolerance: 5,
  bodyLimit: 100 * 1024,
  allowedContentTypes: ['application/json'],
  authorization: 'strict',
  maxPageSize: 100,
  sessions: { refreshTokenTtl: 30 * 24 * 3600, idleTimeout: 7 * 24 * 3600, revocationCacheMs: 1000 },
  throttle: { default: { limit: 100, windowMs: 60_000, blockMs: 0 }, auth: { limit: 10, windowMs: 60_000, blockMs: 0 } },
  lockout: { threshold: 5, windowSeconds: 900, durationSeconds: 900, maxDurationSeconds: 86_400 },
  redisKeyPrefix: 'zt:',
  onStoreFailure: { auth: 'closed', default: 'open' },
} as const;

const LIMITS = { maxTokenLifetime: 3600, clockTolerance: 60 } as const;

const KNOWN_OPTIONS: ReadonlyArray<keyof ZeroTrustModuleOptions> = [
  'issuer',
  'audience',
  'keys',
  'algorithms',
  'signingKeyId',
  'accessTokenTtl',
  'maxTokenLifetime',
  'clockTolerance',
  'bodyLimit',
  'allowedContentTypes',
  'securityHeaders',
  'auditSinks',
  'sessions',
  'externalIssuers',
  'authorization',
  'maxPageSize',
  'dataSource',
  'rowLevelSecurity',
  'databasePrivileges',
  'trustProxy',
  'throttle',
  'lockout',
  'redis',
  'redisKeyPrefix',
  'onStoreFailure',
  'anomalyRules',
  'environment',
];

/** What the providers read: validated, defaulted, keys parsed. Built once at boot. */
export interface ResolvedZeroTrustConfig {
  readonly issuer: string;
  readonly audiences: readonly string[];
  readonly algorithms: readonly AccessTokenAlgorithm[];
  readonly keyRing: KeyRing;
  readonly accessTokenTtl: number;
  readonly maxTokenLifetime: number;
  readonly clockTolerance: number;
  readonly bodyLimit: number;
  readonly allowedContentTypes: readonly string[];
  readonly headers: ResolvedHeaders;
  readonly auditSinks: readonly AuditSink[];
  readonly sessions: ResolvedSessionOptions | false;
  readonly externalIssuers: readonly ResolvedExternalIssuer[];
  readonly authorization: 'strict' | 'report';
  readonly maxPageSize: number;
  readonly dataSource?: ZeroTrustModuleOptions['dataSource'];
  readonly rowLevelSecurity: boolean;
  readonly databasePrivileges: 'check' | 'off';
  /** Client addresses under `trustProxy`, resolved once here (validating it at boot). */
  readonly clientIp: ClientIpResolver;
  readonly throttle: { default: ResolvedRateLimit; auth: ResolvedRateLimit } | false;
  readonly lockout: ResolvedLockoutOptions | false;
  readonly redis?: string | RedisClientLike;
  readonly redisKeyPrefix: string;
  readonly onStoreFailure: { auth: 'closed' | 'open'; default: 'closed' | 'open' };
  readonly anomalyRules: readonly AnomalyRule[];
  readonly production: boolean;
}

export function closestName(input: string, candidates: readonly string[]): string | undefined {
  const distance = (a: string, b: string): number => {
    const row = Array.from({ length: b.length + 1 }, (_, i) => i);
    for (let i = 1; i <= a.length; i++) {
      let previous = row[0];
      row[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const current = row[j];
        row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
        previous = current;
      }
    }
    return row[b.length];
  };
  let best: string | undefined;
  let bestDistance = 4;
  for (const candidate of candidates) {
    const d = distance(input.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function seconds(name: string, value: number | undefined, fallback: number, max?: number): number {
  const result = value ?? fallback;
  if (!Number.isInteger(result) || result < 0 || (max !== undefined && result > max)) {
    throw new ZeroTrustConfigurationError(
      `${name} must be a whole number of seconds${max !== undefined ? ` from 0 to ${max}` : ''} (got ${value}).`,
    );
  }
  return result;
}

function nonEmptyString(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ZeroTrustConfigurationError(`${name} is required and must be a non-empty string (got ${JSON.stringify(value)}).`);
  }
  return value;
}

/** Validates and defaults the options. Throws a `ZeroTrustConfigurationError` that says how to fix each mistake. */
export function resolveZeroTrustOptions(options: ZeroTrustModuleOptions): ResolvedZeroTrustConfig {
  if (!options || typeof options !== 'object') {
    throw new ZeroTrustConfigurationError('ZeroTrustModule.forRoot() needs an options object with at least `issuer` and `audience`.');
  }
  for (const name of Object.keys(options)) {
    if (!KNOWN_OPTIONS.includes(name as keyof ZeroTrustModuleOptions)) {
      const hint = closestName(name, KNOWN_OPTIONS);
      throw new ZeroTrustConfigurationError(`unknown option "${name}".${hint ? ` Did you mean "${hint}"?` : ''}`);
    }
  }
  const environment = options.environment ?? process.env.NODE_ENV ?? 'development';
  const production = environment === 'production';
  const issuer = nonEmptyString('issuer', options.issuer);
  const audiences = (Array.isArray(options.audience) ? options.audience : [options.audience]).map((value, i) =>
    nonEmptyString(`audience[${i}]`, value),
  );
  if (audiences.length === 0) throw new ZeroTrustConfigurationError('audience must name at least one audience.');

  const algorithms = options.algorithms ?? [...ZERO_TRUST_DEFAULTS.algorithms];
  if (!Array.isArray(algorithms) || algorithms.length === 0) {
    throw new ZeroTrustConfigurationError(`algorithms must list at least one of ${ACCESS_TOKEN_ALGORITHMS.join(', ')}.`);
  }
  for (const alg of algorithms) {
    if (!ACCESS_TOKEN_ALGORITHMS.includes(alg)) {
      throw new ZeroTrustConfigurationError(
        `algorithm ${JSON.stringify(alg)} is not allowed. Use ${ACCESS_TOKEN_ALGORITHMS.join(', ')}` +
          (String(alg).toLowerCase() === 'none'
            ? ' (unsigned tokens are never accepted).'
            : alg === ('EdDSA' as string)
              ? ' (EdDSA needs a verifier other than jsonwebtoken 9, which passport-jwt uses).'
              : '.'),
      );
    }
  }

  let keyOptions = options.keys;
  if (!keyOptions || keyOptions.length === 0) {
    if (production) {
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
  if (options.signingKeyId !== undefined) {
    signingKey = keys.find((key) => key.kid === options.signingKeyId);
    if (!signingKey?.signKey) {
      throw new ZeroTrustConfigurationError(`signingKeyId "${options.signingKeyId}" must name a configured key that has a privateKey or secret.`);
    }
  } else {
    signingKey = keys.find((key) => key.signKey);
  }

  const maxTokenLifetime = seconds('maxTokenLifetime', options.maxTokenLifetime, ZERO_TRUST_DEFAULTS.maxTokenLifetime, LIMITS.maxTokenLifetime);
  const accessTokenTtl = seconds('accessTokenTtl', options.accessTokenTtl, ZERO_TRUST_DEFAULTS.accessTokenTtl, maxTokenLifetime);
  if (accessTokenTtl === 0) throw new ZeroTrustConfigurationError('accessTokenTtl must be at least 1 second.');
  const clockTolerance = seconds('clockTolerance', options.clockTolerance, ZERO_TRUST_DEFAULTS.clockTolerance, LIMITS.clockTolerance);

  const bodyLimit = options.bodyLimit ?? ZERO_TRUST_DEFAULTS.bodyLimit;
  if (!Number.isInteger(bodyLimit) || bodyLimit < 1) {
    throw new ZeroTrustConfigurationError(`bodyLimit must be a positive whole number of bytes (got ${options.bodyLimit}).`);
  }
  const allowedContentTypes = (options.allowedContentTypes ?? ZERO_TRUST_DEFAULTS.allowedContentTypes).map((type) =>
    nonEmptyString('allowedContentTypes[]', type).toLowerCase(),
  );

  const authorization = options.authorization ?? ZERO_TRUST_DEFAULTS.authorization;
  if (authorization !== 'strict' && authorization !== 'report') {
    throw new ZeroTrustConfigurationError(`authorization must be 'strict' or 'report' (got ${JSON.stringify(options.authorization)}).`);
  }
  const maxPageSize = options.maxPageSize ?? ZERO_TRUST_DEFAULTS.maxPageSize;
  if (!Number.isInteger(maxPageSize) || maxPageSize < 1) {
    throw new ZeroTrustConfigurationError(`maxPageSize must be a positive whole number (got ${options.maxPageSize}).`);
  }

  let sessions: ResolvedSessionOptions | false = false;
  if (options.sessions !== undefined && options.sessions !== false) {
    const given = options.sessions;
    const defaults = ZERO_TRUST_DEFAULTS.sessions;
    const refreshTokenTtl = seconds('sessions.refreshTokenTtl', given.refreshTokenTtl, defaults.refreshTokenTtl, 365 * 24 * 3600);
    const idleTimeout = seconds('sessions.idleTimeout', given.idleTimeout, Math.min(defaults.idleTimeout, refreshTokenTtl), refreshTokenTtl);
    const revocationCacheMs = given.revocationCacheMs ?? defaults.revocationCacheMs;
    if (!Number.isInteger(revocationCacheMs) || revocationCacheMs < 0 || revocationCacheMs > 60_000) {
      throw new ZeroTrustConfigurationError('sessions.revocationCacheMs must be a whole number of milliseconds from 0 to 60000.');
    }
    if (refreshTokenTtl < 60 || idleTimeout < 60) throw new ZeroTrustConfigurationError('sessions.refreshTokenTtl and idleTimeout must be at least 60 seconds.');
    sessions = { refreshTokenTtl, idleTimeout, revocationCacheMs };
  }
  const externalIssuers = (options.externalIssuers ?? []).map((external, i) => resolveExternalIssuer(external, `externalIssuers[${i}]`, issuer));
  if (new Set(externalIssuers.map((e) => e.issuer)).size !== externalIssuers.length) {
    throw new ZeroTrustConfigurationError('externalIssuers lists the same issuer twice.');
  }

  const rateLimit = (name: string, given: RateLimit | undefined, fallback: ResolvedRateLimit): ResolvedRateLimit => {
    const value = { ...fallback, ...given };
    for (const [field, min] of [['limit', 1], ['windowMs', 1], ['blockMs', 0]] as const) {
      if (!Number.isInteger(value[field]) || value[field] < min) throw new ZeroTrustConfigurationError(`throttle.${name}.${field} must be a whole number >= ${min}.`);
    }
    return value;
  };
  const throttle =
    options.throttle === false
      ? false
      : {
          default: rateLimit('default', options.throttle?.default, ZERO_TRUST_DEFAULTS.throttle.default),
          auth: rateLimit('auth', options.throttle?.auth, ZERO_TRUST_DEFAULTS.throttle.auth),
        };
  let lockout: ResolvedLockoutOptions | false = false;
  if (options.lockout !== false) {
    lockout = { ...ZERO_TRUST_DEFAULTS.lockout, ...options.lockout };
    for (const [field, value] of Object.entries(lockout)) {
      if (!Number.isInteger(value) || value < 1) throw new ZeroTrustConfigurationError(`lockout.${field} must be a positive whole number.`);
    }
    if (lockout.maxDurationSeconds < lockout.durationSeconds) throw new ZeroTrustConfigurationError('lockout.maxDurationSeconds must be at least durationSeconds.');
  }
  const onStoreFailure = { ...ZERO_TRUST_DEFAULTS.onStoreFailure, ...options.onStoreFailure };
  for (const [kind, mode] of Object.entries(onStoreFailure)) {
    if (mode !== 'closed' && mode !== 'open') throw new ZeroTrustConfigurationError(`onStoreFailure.${kind} must be 'closed' or 'open'.`);
  }
  if (options.redis !== undefined && typeof options.redis !== 'string' && typeof options.redis?.defineCommand !== 'function') {
    throw new ZeroTrustConfigurationError('redis must be a redis:// URL or an ioredis client.');
  }

  return {
    issuer,
    audiences,
    algorithms,
    keyRing: new KeyRing(keys, signingKey),
    accessTokenTtl,
    maxTokenLifetime,
    clockTolerance,
    bodyLimit,
    allowedContentTypes,
    headers: resolveSecurityHeaders(options.securityHeaders),
    auditSinks: options.auditSinks ?? [new LoggerAuditSink()],
    sessions,
    externalIssuers,
    authorization,
    maxPageSize,
    dataSource: options.dataSource,
    clientIp: new ClientIpResolver(options.trustProxy),
    rowLevelSecurity: options.rowLevelSecurity === true,
    databasePrivileges: options.databasePrivileges ?? 'check',
    throttle,
    lockout,
    redis: options.redis,
    redisKeyPrefix: options.redisKeyPrefix ?? ZERO_TRUST_DEFAULTS.redisKeyPrefix,
    onStoreFailure,
    anomalyRules: options.anomalyRules === false ? [] : (options.anomalyRules ?? [bolaProbeRule(), distributedLoginFailureRule()]),
    production,
  };
}

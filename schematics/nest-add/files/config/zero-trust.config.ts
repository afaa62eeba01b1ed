import type { ZeroTrustModuleOptions } from 'nestjs-zero-trust';

/**
 * nestjs-zero-trust configuration, from the environment (every variable is listed in .env.example).
 * Without ZT_JWT_PRIVATE_KEY the module signs with an ephemeral key in development (with a warning)
 * and refuses to start in production. Durations are in seconds.
 */
export function zeroTrustOptions(env: NodeJS.ProcessEnv = process.env): ZeroTrustModuleOptions {
  const production = env.NODE_ENV === 'production';
  if (production && (!env.ZT_ISSUER || !env.ZT_AUDIENCE)) {
    throw new Error('Set ZT_ISSUER and ZT_AUDIENCE in production (see .env.example).');
  }
  const privateKey = env.ZT_JWT_PRIVATE_KEY?.replace(/\\n/g, '\n');
  const trustProxy = env.ZT_TRUST_PROXY;
  return {
    issuer: env.ZT_ISSUER ?? 'http://localhost:3000',
    audience: env.ZT_AUDIENCE ?? 'api',
    keys: privateKey ? [{ kid: env.ZT_JWT_KID ?? 'main', alg: 'ES256', privateKey }] : undefined,
    // 'report' lists routes without an authorization rule at boot; 'strict' refuses to start with any.
    authorization: (env.ZT_AUTHORIZATION as 'report' | 'strict' | undefined) ?? '<%= authorization %>',
    // Largest request body, in bytes (larger ones get 413).
    bodyLimit: Number(env.ZT_BODY_LIMIT ?? 102400),
    // Proxies whose X-Forwarded-For to believe: a hop count ("1") or their addresses/CIDRs ("10.0.0.0/8,...").
    trustProxy: !trustProxy ? undefined : /^\d+$/.test(trustProxy) ? Number(trustProxy) : trustProxy.split(',').map((part) => part.trim()),
    // Rate limits, lockouts and session revocations shared by every instance (Redis, needs ioredis); in memory when unset.
    store: env.REDIS_URL || undefined,
    // Prefix of every key the module writes to that store: apps sharing one Redis must not share counters.
    storeKeyPrefix: env.ZT_REDIS_PREFIX ?? '<%= prefix %>',
  };
}

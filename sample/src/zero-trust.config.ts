import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { SigningKeyOptions, ZeroTrustModuleOptions } from 'nestjs-zero-trust';
import { secretFrom } from './development-secrets.js';
import { UsersService } from './users/users.service.js';
import { accountLifecycle } from './account/account-lifecycle.config.js';
import { VerifiedUsersDirectory } from './account/verified-users.directory.js';

/** RFC 7638 thumbprint: a stable `kid` derived from the key itself. */
function thumbprint(pem: string): string {
  const jwk = createPublicKey(pem).export({ format: 'jwk' });
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  return createHash('sha256').update(canonical).digest('base64url');
}

/** A PEM from `NAME` (with `\n` escapes allowed) or from the file named by `NAME_FILE`. */
function pemFrom(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const file = env[`${name}_FILE`];
  return file ? readFileSync(file, 'utf8') : env[name]?.replace(/\\n/g, '\n');
}

/**
 * Keys come from the environment: `ZT_JWT_PRIVATE_KEY` (PKCS#8 PEM, ES256) signs; after a rotation,
 * `ZT_JWT_PREVIOUS_PUBLIC_KEY` keeps the old key's tokens valid until they expire and publishes it
 * in the JWKS. Without a private key the module generates an ephemeral one and says so loudly; in
 * production it refuses to start. `ZT_RLS_IDENTITY_KEY` signs each request's row-level-security
 * identity and `ZT_MFA_ENCRYPTION_KEY` encrypts TOTP secrets at rest (see development-secrets.ts).
 */
export function zeroTrustOptions(env: NodeJS.ProcessEnv = process.env): ZeroTrustModuleOptions {
  const keys: SigningKeyOptions[] = [];
  const pem = pemFrom(env, 'ZT_JWT_PRIVATE_KEY');
  if (pem) keys.push({ kid: env.ZT_JWT_KID ?? thumbprint(createPublicKey(createPrivateKey(pem)).export({ type: 'spki', format: 'pem' }) as string), alg: 'ES256', privateKey: pem });
  const previous = pemFrom(env, 'ZT_JWT_PREVIOUS_PUBLIC_KEY');
  if (previous) keys.push({ kid: env.ZT_JWT_PREVIOUS_KID ?? thumbprint(previous), alg: 'ES256', publicKey: previous });
  return {
    issuer: env.ZT_ISSUER ?? 'http://localhost:3000',
    audience: env.ZT_AUDIENCE ?? 'notes-api',
    keys: keys.length ? keys : undefined,
    // Refresh reads the user's scopes again from the users table (UsersService.grantsOf).
    sessions: {
      grants: UsersService,
      ...(env.ZT_REVOCATION_CACHE_TTL ? { revocationCacheTtl: Number(env.ZT_REVOCATION_CACHE_TTL) } : {}),
      ...(env.ZT_REFRESH_GRACE_PERIOD ? { refreshGracePeriod: Number(env.ZT_REFRESH_GRACE_PERIOD) } : {}),
    },
    // Sign-in, second factors and recent authentication from the library; the users table and argon2 stay the app's.
    // Sign-in sees an account whose address is not verified as disabled (VerifiedUsersDirectory wraps UsersService).
    accounts: { directory: VerifiedUsersDirectory, totpEncryptionKey: secretFrom(env, 'ZT_MFA_ENCRYPTION_KEY') },
    lifecycle: accountLifecycle(env),
    authorization: 'strict',
    rowLevelSecurity: { identityKey: secretFrom(env, 'ZT_RLS_IDENTITY_KEY') },
    trustProxy: trustProxy(env.ZT_TRUST_PROXY),
    store: env.REDIS_URL || undefined,
    storeKeyPrefix: env.ZT_REDIS_PREFIX ?? 'zt:',
    throttle: { auth: { limit: Number(env.ZT_AUTH_RATE_LIMIT ?? 10), window: 60 } },
    // Failed authentications per client address a minute (default 50); the fuzz suite raises it as it raises ZT_AUTH_RATE_LIMIT.
    ...(env.ZT_AUTH_FAILURE_LIMIT ? { authFailureLimit: { limit: Number(env.ZT_AUTH_FAILURE_LIMIT) } } : {}),
  };
}

/** `ZT_TRUST_PROXY=1` (hops) or `ZT_TRUST_PROXY=10.0.0.0/8,192.168.0.0/16` (proxy addresses). */
function trustProxy(value: string | undefined): number | string[] | undefined {
  if (!value) return undefined;
  return /^\d+$/.test(value) ? Number(value) : value.split(',').map((entry) => entry.trim());
}

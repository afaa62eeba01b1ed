import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { SigningKeyOptions, ZeroTrustModuleOptions } from 'nestjs-zero-trust';
import { accountLifecycle } from './account/account-lifecycle.config.js';
import { VerifiedUsersDirectory } from './account/verified-users.directory.js';
import { secretFrom } from './development-secrets.js';
import { UsersService } from './users/users.service.js';

/** RFC 7638 thumbprint: a stable `kid` derived from the key itself. */
function thumbprint(pem: string): string {
  const jwk = createPublicKey(pem).export({ format: 'jwk' });
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  return createHash('sha256').update(canonical).digest('base64url');
}

/** A PEM from `NAME` (with `\n` escapes allowed) or from the file named by `NAME_FILE` (a mounted secret). */
function pemFrom(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const file = env[`${name}_FILE`];
  return file ? readFileSync(file, 'utf8') : env[name]?.replace(/\\n/g, '\n');
}

/**
 * The zero-trust configuration, from the environment (every variable is listed in .env.example).
 * Keys: `ZT_JWT_PRIVATE_KEY` (PKCS#8 PEM, ES256) signs; after a rotation, `ZT_JWT_PREVIOUS_PUBLIC_KEY`
 * keeps the old key's tokens valid until they expire and publishes it in the JWKS. Without a private
 * key the module generates an ephemeral one and says so loudly; in production it refuses to start.
 * `ZT_RLS_IDENTITY_KEY` signs each request's row-level-security identity and `ZT_MFA_ENCRYPTION_KEY`
 * encrypts TOTP secrets at rest; both are required in production (see development-secrets.ts).
 * Durations are in seconds.
 */
export function zeroTrustOptions(env: NodeJS.ProcessEnv = process.env): ZeroTrustModuleOptions {
  const keys: SigningKeyOptions[] = [];
  const pem = pemFrom(env, 'ZT_JWT_PRIVATE_KEY');
  if (pem) keys.push({ kid: env.ZT_JWT_KID ?? thumbprint(createPublicKey(createPrivateKey(pem)).export({ type: 'spki', format: 'pem' }) as string), alg: 'ES256', privateKey: pem });
  const previous = pemFrom(env, 'ZT_JWT_PREVIOUS_PUBLIC_KEY');
  if (previous) keys.push({ kid: env.ZT_JWT_PREVIOUS_KID ?? thumbprint(previous), alg: 'ES256', publicKey: previous });
  return {
    issuer: env.ZT_ISSUER ?? 'http://localhost:3000',
    audience: env.ZT_AUDIENCE ?? '<%= name %>',
    keys: keys.length ? keys : undefined,
    // Refresh-token sessions (rotation, revocation, logout everywhere). Options, in seconds: refreshTokenTtl,
    // idleTimeout, revocationCacheTtl, refreshGracePeriod; the library's defaults when left out. A refresh
    // reads the user's scopes again from the users table (UsersService.grantsOf).
    sessions: { grants: UsersService },
    // Sign-in, second factors (encrypted TOTP secrets, one-time recovery codes) and recent authentication
    // from the library; the users table and argon2id stay the app's (UsersService).
    accounts: { directory: VerifiedUsersDirectory, totpEncryptionKey: secretFrom(env, 'ZT_MFA_ENCRYPTION_KEY') },
    // Registration with proof of work and a verification mail, password reset, passkeys (src/account).
    // Sign-in sees an account whose address is not verified as disabled (VerifiedUsersDirectory wraps UsersService).
    lifecycle: accountLifecycle(env),
    // Every route declares who may call it, or the app refuses to start.
    authorization: 'strict',
    // Queries through OwnedRepository run with the caller's signed identity for the tables' row-level-security policies.
    rowLevelSecurity: { identityKey: secretFrom(env, 'ZT_RLS_IDENTITY_KEY') },
    trustProxy: trustProxy(env.ZT_TRUST_PROXY),
    // Rate limits, lockouts and session revocations shared by every instance (Redis); in memory when unset.
    store: env.REDIS_URL || undefined,
    storeKeyPrefix: '<%= name %>:',
    // Sign-in, registration, refresh and MFA routes: 10 requests a minute per client.
    throttle: { auth: { limit: 10, window: 60 } },
  };
}

/** `ZT_TRUST_PROXY=1` (hops) or `ZT_TRUST_PROXY=10.0.0.0/8,192.168.0.0/16` (proxy addresses). */
function trustProxy(value: string | undefined): number | string[] | undefined {
  if (!value) return undefined;
  return /^\d+$/.test(value) ? Number(value) : value.split(',').map((entry) => entry.trim());
}

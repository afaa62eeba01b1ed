import { type LifecycleOptions, Mailer } from 'nestjs-zero-trust';
import { UsersAccountRegistry } from './users-account.registry.js';

/**
 * The `lifecycle` options. Links point at `ZT_PUBLIC_URL` (default http://localhost:3000): the page there
 * reads `?token=` and POSTs it (a link that acted on GET would be "clicked" by mail scanners).
 * `ZT_POW_HMAC_KEY` (`openssl rand -base64 32`, the same on every instance, required in production) signs
 * the proof-of-work challenges.
 */
export function accountLifecycle(env: NodeJS.ProcessEnv = process.env): LifecycleOptions {
  const base = (env.ZT_PUBLIC_URL ?? 'http://localhost:3000').replace(/\/$/, '');
  return {
    registry: UsersAccountRegistry,
    mailer: Mailer,
    links: { verifyAddress: `${base}/account/verify?token=`, resetPassword: `${base}/account/password/reset?token=` },
    proofOfWork: { ...(env.ZT_POW_HMAC_KEY ? { hmacKey: env.ZT_POW_HMAC_KEY } : {}) },
    // Passkeys for the site at ZT_PUBLIC_URL: its host is the relying party, its origin the only one accepted.
    passkeys: { rpId: new URL(base).hostname, rpName: '<%= name %>', origins: [new URL(base).origin] },
  };
}

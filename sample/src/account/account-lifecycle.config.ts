import { type LifecycleOptions, Mailer } from 'nestjs-zero-trust';
import { UsersAccountRegistry } from './users-account.registry.js';

/**
 * The `lifecycle` options of the sample. Links point at `ZT_PUBLIC_URL` (default http://localhost:3000):
 * the page there reads `?token=` and POSTs it (a link that acted on GET would be "clicked" by mail
 * scanners). `ZT_POW_HMAC_KEY` (`openssl rand -base64 32`, required in production) signs the proof-of-work
 * challenges; `ZT_POW_DIFFICULTY` / `ZT_POW_RAISED_DIFFICULTY` set the work (tests make it small);
 * `ZT_PASSWORD_RESET_PER_ADDRESS` the reset requests per client address per hour (default 10).
 */
export function accountLifecycle(env: NodeJS.ProcessEnv = process.env): LifecycleOptions {
  const base = (env.ZT_PUBLIC_URL ?? 'http://localhost:3000').replace(/\/$/, '');
  const number = (name: string) => (env[name] ? Number(env[name]) : undefined);
  return {
    registry: UsersAccountRegistry,
    mailer: Mailer,
    links: { verifyAddress: `${base}/account/verify?token=`, resetPassword: `${base}/account/password/reset?token=` },
    proofOfWork: {
      ...(env.ZT_POW_HMAC_KEY ? { hmacKey: env.ZT_POW_HMAC_KEY } : {}),
      ...(number('ZT_POW_DIFFICULTY') ? { difficulty: number('ZT_POW_DIFFICULTY') } : {}),
      ...(number('ZT_POW_RAISED_DIFFICULTY') ? { raisedDifficulty: number('ZT_POW_RAISED_DIFFICULTY') } : {}),
    },
    ...(number('ZT_PASSWORD_RESET_PER_ADDRESS') ? { passwordReset: { perAddress: number('ZT_PASSWORD_RESET_PER_ADDRESS') } } : {}),
    // Passkeys for the site at ZT_PUBLIC_URL: its host is the relying party, its origin the only one accepted.
    passkeys: { rpId: new URL(base).hostname, rpName: 'nestjs-zero-trust sample', origins: [new URL(base).origin] },
  };
}

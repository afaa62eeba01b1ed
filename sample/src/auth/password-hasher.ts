import { hash } from '@node-rs/argon2';
import { PasswordPepper, type PepperedInput } from 'nestjs-zero-trust';
import { secretFrom } from '../development-secrets.js';

/** argon2id with OWASP's minimum profile (19 MiB, 2 passes, 1 lane). `2` is Algorithm.Argon2id (a const enum). */
const ARGON2ID = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;
const ALGORITHMS: Readonly<Record<string, number>> = { argon2d: 0, argon2i: 1, argon2id: 2 };

/**
 * The app-held pepper (`ZT_PASSWORD_PEPPER`, required in production): read when UsersService is built
 * (so a missing one stops the boot, not the first login), never when this file is imported.
 */
let pepper: PasswordPepper | undefined;
export function passwordPepper(): PasswordPepper {
  pepper ??= new PasswordPepper(secretFrom(process.env, 'ZT_PASSWORD_PEPPER'));
  return pepper;
}

/** A new hash: `zp1$<key id>$argon2id$…` of HMAC-SHA256(pepper, password). */
export async function hashPassword(password: string): Promise<string> {
  const peppered = passwordPepper().forNewHash(password);
  return peppered.seal(await hash(peppered.input, ARGON2ID));
}

/**
 * The hash `password` would have under the stored hash's settings (what the database's
 * `zt_users_password_settings()` answers: algorithm, cost and salt, never the hash), for the database
 * to compare. `current: false`: a hash made before the pepper (or under a previous key) that the caller
 * re-hashes once the password proved right. Unknown settings still cost the argon2 work.
 */
export async function passwordCandidate(settings: string, password: string): Promise<{ candidate: string; current: boolean }> {
  const opened: PepperedInput | null = passwordPepper().open(settings, password);
  const parsed = opened ? parseArgon2Settings(opened.inner) : null;
  if (!opened || !parsed) {
    await hash(password, ARGON2ID);
    return { candidate: '', current: true };
  }
  return { candidate: opened.seal(await hash(opened.input, parsed)), current: opened.current };
}

/** `$argon2id$v=19$m=19456,t=2,p=1$<salt>` -> the options that hash with that salt and cost. */
function parseArgon2Settings(settings: string) {
  const [, algorithm, version, costs, salt] = settings.split('$');
  const cost = Object.fromEntries((costs ?? '').split(',').map((pair) => pair.split('=') as [string, string]));
  if (!(algorithm in ALGORITHMS) || !salt || !cost.m || !cost.t || !cost.p) return null;
  return {
    algorithm: ALGORITHMS[algorithm],
    // Version.V0x10 is 0, Version.V0x13 (v=19) is 1.
    version: version === 'v=16' ? 0 : 1,
    memoryCost: Number(cost.m),
    timeCost: Number(cost.t),
    parallelism: Number(cost.p),
    salt: Buffer.from(salt, 'base64'),
  };
}

/**
 * Used when the email is unknown, so an unknown account costs the same argon2 work (and the same
 * database round trip) as a wrong password, and response time does not reveal which accounts exist.
 */
let decoy: Promise<string> | undefined;
export function decoySettings(): Promise<string> {
  decoy ??= hashPassword('decoy password that matches nothing').then((stored) => stored.slice(0, stored.lastIndexOf('$')));
  return decoy;
}

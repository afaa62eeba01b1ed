import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the on-disk PGlite database lives, and with it the development secrets that must match it. */
export const PGLITE_DIR = fileURLToPath(new URL('../.data/', import.meta.url));
const SECRETS_FILE = `${PGLITE_DIR}development-secrets.json`;

/** How to make each secret; the same commands as in the README. */
const GENERATE: Readonly<Record<string, { bytes: number; command: string }>> = {
  ZT_RLS_IDENTITY_KEY: { bytes: 48, command: 'openssl rand -base64 48' },
  ZT_MFA_ENCRYPTION_KEY: { bytes: 32, command: 'openssl rand -base64 32' },
  ZT_PASSWORD_PEPPER: { bytes: 32, command: 'openssl rand -base64 32' },
};

/**
 * A secret from `NAME` or from the file named by `NAME_FILE` (a mounted secret). Unset in production:
 * the app refuses to start, naming the command that makes one. Unset otherwise: a development value,
 * put into `process.env` so the migrations and the module of this process agree on it, and kept beside
 * the on-disk PGlite database (whose rows it protects) so the data stays readable after a restart.
 */
export function secretFrom(env: NodeJS.ProcessEnv, name: keyof typeof GENERATE): string {
  const file = env[`${name}_FILE`];
  const given = file ? readFileSync(file, 'utf8').trim() : env[name];
  if (given) return given;
  const { bytes, command } = GENERATE[name];
  if (env.NODE_ENV === 'production') throw new Error(`${name} is required in production: generate one with \`${command}\` and set it from your secret manager.`);
  const persisted = !env.DATABASE_URL && env.ZT_DB !== 'memory';
  const stored: Record<string, string> = persisted && existsSync(SECRETS_FILE) ? JSON.parse(readFileSync(SECRETS_FILE, 'utf8')) : {};
  let value = stored[name];
  if (!value) {
    value = randomBytes(bytes).toString('base64');
    if (persisted) {
      mkdirSync(dirname(SECRETS_FILE), { recursive: true });
      writeFileSync(SECRETS_FILE, JSON.stringify({ ...stored, [name]: value }), { mode: 0o600 });
      chmodSync(SECRETS_FILE, 0o600);
    }
    new Logger('Configuration').warn(
      `${name} is not set: using a development value${persisted ? ` kept in ${SECRETS_FILE}` : ' for this process only'}. Set it before production (\`${command}\`).`,
    );
  }
  env[name] = value;
  return value;
}

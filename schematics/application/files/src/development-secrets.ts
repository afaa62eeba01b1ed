import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** PGlite keeps its data here when no DATABASE_URL is set: `.data/` beside package.json. */
export const DEFAULT_PGLITE_DIR = fileURLToPath(new URL('../.data/', import.meta.url));

/** How to make each secret. */
const GENERATE: Readonly<Record<string, { bytes: number; command: string }>> = {
  ZT_RLS_IDENTITY_KEY: { bytes: 48, command: 'openssl rand -base64 48' },
  ZT_MFA_ENCRYPTION_KEY: { bytes: 32, command: 'openssl rand -base64 32' },
  ZT_PASSWORD_PEPPER: { bytes: 32, command: 'openssl rand -base64 32' },
};

/**
 * A secret from `NAME` or from the file named by `NAME_FILE` (a mounted secret). Unset in production:
 * the app refuses to start, naming the command that makes one. Unset otherwise: a development value,
 * put into `process.env` so the migrations and the module of this process agree on it, and kept beside
 * PGlite's on-disk data (whose rows it protects) so that data stays readable after a restart.
 */
export function secretFrom(env: NodeJS.ProcessEnv, name: keyof typeof GENERATE): string {
  const file = env[`${name}_FILE`];
  const given = file ? readFileSync(file, 'utf8').trim() : env[name];
  if (given) return given;
  const { bytes, command } = GENERATE[name];
  if (env.NODE_ENV === 'production') throw new Error(`${name} is required in production: generate one with \`${command}\` and set it from your secret manager.`);
  const dataDir = env.PGLITE_DATA_DIR || DEFAULT_PGLITE_DIR;
  const persisted = !env.DATABASE_URL && !dataDir.includes('://');
  const secretsFile = join(dataDir, 'development-secrets.json');
  const stored: Record<string, string> = persisted && existsSync(secretsFile) ? JSON.parse(readFileSync(secretsFile, 'utf8')) : {};
  let value = stored[name];
  if (!value) {
    value = randomBytes(bytes).toString('base64');
    if (persisted) {
      mkdirSync(dataDir, { recursive: true });
      writeFileSync(secretsFile, JSON.stringify({ ...stored, [name]: value }), { mode: 0o600 });
      chmodSync(secretsFile, 0o600);
    }
    new Logger('Configuration').warn(
      `${name} is not set: using a development value${persisted ? ` kept in ${secretsFile}` : ' for this process only'}. Set it before production (\`${command}\`).`,
    );
  }
  env[name] = value;
  return value;
}

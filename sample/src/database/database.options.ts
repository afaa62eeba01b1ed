import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TypeOrmModuleOptions } from '@nestjs/typeorm';
import { PGliteDriver } from 'typeorm-pglite';
import { Note } from '../notes/note.entity.js';
import { User } from '../users/user.entity.js';
import { InitialSchema1732000000000 } from './1732000000000-initial-schema.migration.js';
import { UserScopes1732000001000 } from './1732000001000-user-scopes.migration.js';
import { UserMfa1732000002000 } from './1732000002000-user-mfa.migration.js';
import { ZeroTrustSessions1732000100000 } from 'nestjs-zero-trust';

export const ENTITIES = [User, Note];

/**
 * PostgreSQL when `DATABASE_URL` is set; otherwise PGlite (PostgreSQL compiled to WASM) with its
 * data under `sample/.data/`, or in memory when `ZT_DB=memory`.
 */
export function databaseOptions(env: NodeJS.ProcessEnv = process.env): TypeOrmModuleOptions {
  const common = {
    type: 'postgres' as const,
    entities: ENTITIES,
    migrations: [InitialSchema1732000000000, UserScopes1732000001000, UserMfa1732000002000, ZeroTrustSessions1732000100000],
    migrationsRun: true,
    synchronize: false,
    retryAttempts: 2,
  };
  if (env.DATABASE_URL) return { ...common, url: env.DATABASE_URL };
  let dataDir: string | undefined;
  if (env.ZT_DB !== 'memory') {
    dataDir = fileURLToPath(new URL('../../.data/', import.meta.url));
    mkdirSync(dataDir, { recursive: true });
  }
  return { ...common, driver: new PGliteDriver(dataDir ? { dataDir } : {}).driver };
}

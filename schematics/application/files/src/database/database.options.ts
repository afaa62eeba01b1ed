import { PGlite } from '@electric-sql/pglite';
import { Logger } from '@nestjs/common';
import type { TypeOrmModuleAsyncOptions, TypeOrmModuleOptions } from '@nestjs/typeorm';
import { mkdirSync } from 'node:fs';
import {
  DataDirectoryLock,
  exclusivePGliteDriver,
  ZeroTrustAuditLog1732000200000,
  ZeroTrustMfa1732000120000,
  ZeroTrustSessionBinding1732000110000,
  ZeroTrustSessions1732000100000,
} from 'nestjs-zero-trust';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { DEFAULT_PGLITE_DIR, secretFrom } from '../development-secrets.js';
import { Note } from '../notes/note.entity.js';
import { User } from '../users/user.entity.js';
import { InitialSchema1732000000000 } from './1732000000000-initial-schema.migration.js';
import { UserScopes1732000001000 } from './1732000001000-user-scopes.migration.js';
import { UserMfa1732000002000 } from './1732000002000-user-mfa.migration.js';
import { LeastPrivilege1732000300000, RUNTIME_ROLE } from './1732000300000-least-privilege.migration.js';

export const ENTITIES = [User, Note];
const MIGRATIONS = [
  InitialSchema1732000000000,
  UserScopes1732000001000,
  UserMfa1732000002000,
  ZeroTrustSessions1732000100000,
  ZeroTrustSessionBinding1732000110000,
  ZeroTrustMfa1732000120000,
  ZeroTrustAuditLog1732000200000,
  LeastPrivilege1732000300000,
];

/**
 * PostgreSQL (`DATABASE_URL`): migrations run with the owner connection (`DATABASE_MIGRATION_URL`, or
 * `DATABASE_URL` when only that is set), and the app serves with `DATABASE_URL`, which in production is
 * the runtime role the least-privilege migration created.
 *
 * PGlite, embedded PostgreSQL (no `DATABASE_URL`): data under `PGLITE_DATA_DIR` (default `.data/`;
 * `memory://` keeps nothing). It has one session, so after migrating as its superuser the app switches
 * to the runtime role with SET ROLE. That switch is not a wall against SQL injection (injected SQL
 * could RESET ROLE): PostgreSQL with a runtime-role login is the production setting.
 */
export function databaseModuleOptions(env: NodeJS.ProcessEnv = process.env): TypeOrmModuleAsyncOptions {
  const common = { type: 'postgres' as const, entities: ENTITIES, synchronize: false, retryAttempts: 2 };
  // The environment is read when the module starts, not when this file is imported.
  return {
    useFactory: async () => {
      if (env.DATABASE_URL) return { ...common, url: env.DATABASE_URL } as TypeOrmModuleOptions;
      const dataDir = env.PGLITE_DATA_DIR || DEFAULT_PGLITE_DIR;
      if (!dataDir.includes('://')) mkdirSync(dataDir, { recursive: true });
      // One process per data directory: a second one would run a second PostgreSQL on the same files.
      const lock = dataDir && !dataDir.includes('://') ? DataDirectoryLock.acquire(dataDir) : undefined;
      try {
        return { ...common, driver: exclusivePGliteDriver(await PGlite.create(dataDir), { lock }), migrations: MIGRATIONS } as TypeOrmModuleOptions;
      } catch (error) {
        lock?.release();
        throw error;
      }
    },
    dataSourceFactory: async (options) => {
      // The least-privilege migration stores the row-level-security key; the module signs with the same one.
      secretFrom(env, 'ZT_RLS_IDENTITY_KEY');
      if (env.DATABASE_URL) {
        const migrator = await new DataSource({
          ...(options as DataSourceOptions),
          url: env.DATABASE_MIGRATION_URL ?? env.DATABASE_URL,
          migrations: MIGRATIONS,
        } as DataSourceOptions).initialize();
        try {
          await migrator.runMigrations();
        } finally {
          await migrator.destroy();
        }
        return new DataSource(options as DataSourceOptions).initialize();
      }
      const dataSource = await new DataSource(options as DataSourceOptions).initialize();
      await dataSource.runMigrations();
      await dataSource.query(`SET ROLE "${RUNTIME_ROLE}"`);
      new Logger('Database').log(`PGlite under ${env.PGLITE_DATA_DIR || DEFAULT_PGLITE_DIR}, serving as role ${RUNTIME_ROLE}`);
      return dataSource;
    },
  };
}

import { PGlite } from '@electric-sql/pglite';
import { Logger } from '@nestjs/common';
import type { TypeOrmModuleAsyncOptions, TypeOrmModuleOptions } from '@nestjs/typeorm';
import { mkdirSync } from 'node:fs';
import {
  DataDirectoryLock,
  exclusivePGliteDriver,
  durablePGliteStartParams,
  explainDatabaseError,
  isTransientDatabaseError,
  ZeroTrustAuditEventId1732000210000,
  ZeroTrustAuditLog1732000200000,
  ZeroTrustMfa1732000120000,
  ZeroTrustSessionBinding1732000110000,
  ZeroTrustSessions1732000100000,
} from 'nestjs-zero-trust';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { PGLITE_DIR, secretFrom } from '../development-secrets.js';
import { Note } from '../notes/note.entity.js';
import { User } from '../users/user.entity.js';
import { InitialSchema1732000000000 } from './1732000000000-initial-schema.migration.js';
import { UserScopes1732000001000 } from './1732000001000-user-scopes.migration.js';
import { UserMfa1732000002000 } from './1732000002000-user-mfa.migration.js';
import { LeastPrivilege1732000300000, OWNER_ROLE, RUNTIME_ROLE } from './1732000300000-least-privilege.migration.js';
import { runMigrationsAsOwner } from 'nestjs-zero-trust';
import { UserCredentials1732000310000 } from './1732000310000-user-credentials.migration.js';
import { AccountLifecycle1732000320000 } from './1732000320000-account-lifecycle.migration.js';
import { ZeroTrustLifecycle1732000130000 } from 'nestjs-zero-trust';
import { ZeroTrustClients1732000180000, ZeroTrustSessionSenderKey1732000170000 } from 'nestjs-zero-trust';
import { ClientsGrants1732000340000 } from '../clients/1732000340000-clients-grants.migration.js';

export const ENTITIES = [User, Note];
export const MIGRATIONS = [
  InitialSchema1732000000000,
  UserScopes1732000001000,
  UserMfa1732000002000,
  ZeroTrustSessions1732000100000,
  ZeroTrustSessionBinding1732000110000,
  ZeroTrustMfa1732000120000,
  ZeroTrustAuditLog1732000200000,
  ZeroTrustAuditEventId1732000210000,
  LeastPrivilege1732000300000,
  UserCredentials1732000310000,
  ZeroTrustLifecycle1732000130000,
  AccountLifecycle1732000320000,
  // DPoP-bound sessions, machine clients and API keys (sample/src/clients), then the runtime role's grants on them.
  ZeroTrustSessionSenderKey1732000170000,
  ZeroTrustClients1732000180000,
  ClientsGrants1732000340000,
];

/**
 * PostgreSQL: migrations run with the owner connection (`DATABASE_MIGRATION_URL`, or `DATABASE_URL`
 * when only that is set), and the app serves with `DATABASE_URL`, which in production is the runtime
 * role the least-privilege migration created.
 *
 * PGlite (no `DATABASE_URL`): data under `sample/.data/` or in memory (`ZT_DB=memory`). It has one
 * session, so after migrating as its superuser the app switches to the runtime role with SET ROLE.
 * That switch is not a wall against SQL injection (injected SQL could RESET ROLE): real PostgreSQL
 * with a runtime-role login is the production setting.
 */
export function databaseModuleOptions(env: NodeJS.ProcessEnv = process.env): TypeOrmModuleAsyncOptions {
  // Only what a retry can cure is retried (the server starting up, a closed port): a wrong password or
  // a missing database fails at once, with PostgreSQL's message and the variable to check.
  const common = { type: 'postgres' as const, entities: ENTITIES, synchronize: false, retryAttempts: 2, toRetry: isTransientDatabaseError };
  // Read the environment when the module starts, not when this file is imported.
  return {
    useFactory: async () => {
      if (env.DATABASE_URL) return { ...common, url: env.DATABASE_URL, extra: DATABASE_TIMEOUTS } as TypeOrmModuleOptions;
      let dataDir: string | undefined;
      if (env.ZT_DB !== 'memory') {
        dataDir = PGLITE_DIR;
        mkdirSync(dataDir, { recursive: true });
      }
      // One process per data directory: a second one would run a second PostgreSQL on the same files.
      const lock = dataDir && !dataDir.includes('://') ? DataDirectoryLock.acquire(dataDir) : undefined;
      try {
        // PostgreSQL's own fsync back on (PGlite starts it off): an acknowledged write survives a host crash.
        const db = await PGlite.create(dataDir, { startParams: durablePGliteStartParams(PGlite.defaultStartParams) });
        return { ...common, driver: exclusivePGliteDriver(db, { lock }), migrations: MIGRATIONS } as TypeOrmModuleOptions;
      } catch (error) {
        lock?.release();
        throw error;
      }
    },
    dataSourceFactory: async (options) => {
      // The least-privilege migration stores the row-level-security key; the module signs with the same one.
      secretFrom(env, 'ZT_RLS_IDENTITY_KEY');
      if (env.DATABASE_URL) {
        if (migratesAtBoot(env)) await migrateDatabase(env);
        return new DataSource(options as DataSourceOptions).initialize().catch((error: unknown) => {
          throw explainDatabaseError(error, 'DATABASE_URL');
        });
      }
      const dataSource = await new DataSource(options as DataSourceOptions).initialize();
      await dataSource.runMigrations();
      await dataSource.query(`SET ROLE ${RUNTIME_ROLE}`);
      new Logger('Database').log(`PGlite ${env.ZT_DB === 'memory' ? 'in memory' : 'under sample/.data'}, serving as role ${RUNTIME_ROLE}`);
      return dataSource;
    },
  };
}

/**
 * Bounds on a hung database (milliseconds): the server cancels a statement after 5 s (SQLSTATE 57014)
 * and ends a transaction left idle for 10 s; the driver gives up on an answer after 6 s and on a free
 * connection after 2 s. Each ends the request with 503 and Retry-After instead of holding it.
 */
const DATABASE_TIMEOUTS = { statement_timeout: 5_000, idle_in_transaction_session_timeout: 10_000, query_timeout: 6_000, connectionTimeoutMillis: 2_000 };

/**
 * Production never migrates in the serving process: `npm run migrate` does, with the owner's URL, and
 * the app holds only the runtime role's `DATABASE_URL` (a serving process given the owner's URL is
 * refused). Outside production the app migrates at boot for convenience, unless `DATABASE_URL` already
 * is the runtime role (which may not: run `npm run migrate` first).
 */
function migratesAtBoot(env: NodeJS.ProcessEnv): boolean {
  if (env.NODE_ENV === 'production') {
    if (env.DATABASE_MIGRATION_URL) {
      throw new Error(
        'DATABASE_MIGRATION_URL is set in the serving process: in production migrations run apart (npm run migrate) and the app holds only ' +
          "the runtime role's DATABASE_URL. Remove it from the app's environment.",
      );
    }
    return false;
  }
  return Boolean(env.DATABASE_MIGRATION_URL) || decodeURIComponent(new URL(env.DATABASE_URL!).username) !== RUNTIME_ROLE;
}

/**
 * `npm run migrate`: the pending migrations, with the owner's (or a superuser's) URL, under an advisory
 * lock (instances or jobs that migrate at once queue instead of racing), each as the owner role once the
 * least-privilege migration made it, so later tables get the runtime role's grants. No timeouts here: a
 * migration may take long. Returns the names of the migrations it ran.
 */
export async function migrateDatabase(env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const url = env.DATABASE_MIGRATION_URL ?? env.DATABASE_URL;
  if (!url) throw new Error('set DATABASE_MIGRATION_URL to the URL of the owner (or a superuser) the migrations run as.');
  // The least-privilege migration stores this key; the serving process must sign with the same value.
  if (!env.ZT_RLS_IDENTITY_KEY && !env.ZT_RLS_IDENTITY_KEY_FILE) {
    throw new Error('set ZT_RLS_IDENTITY_KEY (openssl rand -base64 48) for npm run migrate: the app must serve with the same value.');
  }
  secretFrom(env, 'ZT_RLS_IDENTITY_KEY');
  const migrator = await new DataSource({ type: 'postgres', url, entities: ENTITIES, migrations: MIGRATIONS, synchronize: false })
    .initialize()
    .catch((error: unknown) => {
      throw explainDatabaseError(error, env.DATABASE_MIGRATION_URL ? 'DATABASE_MIGRATION_URL' : 'DATABASE_URL');
    });
  try {
    return (await runMigrationsAsOwner(migrator, { ownerRole: OWNER_ROLE })).map((migration: { name: string }) => migration.name);
  } finally {
    await migrator.destroy();
  }
}

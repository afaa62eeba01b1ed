import { Logger } from '@nestjs/common';
import type { DataSource, Migration, MigrationInterface, QueryRunner } from 'typeorm';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';
import { refuseRolesOfAnotherDatabase, ROLE_MIGRATION } from './least-privilege-role.migration.js';
import { ident } from './sql-identifiers.js';

/** One advisory lock per database for every migrator of the module (a fixed 64-bit key: "ztmigr" in ASCII). */
const MIGRATION_LOCK_KEY = '8823797869400176640';

export interface RunMigrationsOptions {
  /**
   * The owner role of LeastPrivilegeRoleMigration. Once it exists, every other migration runs as that
   * role (`SET ROLE`), so the tables it creates belong to the owner and the owner's default privileges
   * give the runtime role its grants. Unset: migrations run as the login.
   */
  ownerRole?: string;
  /** TypeORM's transaction mode. Default `'each'`: a failed migration leaves the ones before it applied. */
  transaction?: 'all' | 'each' | 'none';
}

/**
 * Runs the DataSource's pending migrations the production way (`npm run migrate`, never the serving
 * process):
 *
 * - under a PostgreSQL advisory lock, so instances or jobs that migrate at once queue instead of racing
 *   (the second one finds nothing pending);
 * - as the owner role once it exists, so tables created later are the owner's and get the runtime
 *   role's grants (a table created by the superuser got none: every request on it answered 403).
 *
 * The connection is the migration login (`DATABASE_MIGRATION_URL`): a superuser, or a role that may
 * create roles and is a member of the owner role.
 */
export async function runMigrationsAsOwner(dataSource: DataSource, options: RunMigrationsOptions = {}): Promise<Migration[]> {
  const owner = options.ownerRole === undefined ? undefined : ident(options.ownerRole, 'ownerRole');
  if (dataSource.options.type !== 'postgres') {
    throw new ZeroTrustConfigurationError('runMigrationsAsOwner needs a PostgreSQL DataSource (advisory locks, roles).');
  }
  const { MigrationExecutor } = await import('typeorm');
  const queryRunner = dataSource.createQueryRunner();
  await queryRunner.connect();
  const restore: Array<() => void> = [];
  try {
    // Session-level: held across the transactions of `each`, released below or when the connection ends.
    await queryRunner.query(`SELECT pg_advisory_lock(${MIGRATION_LOCK_KEY})`);
    if (owner) {
      // Another project's owner role: acting as it here would fail (or worse, succeed) in its name.
      await refuseRolesOfAnotherDatabase(queryRunner, options.ownerRole!);
      for (const migration of dataSource.migrations) restore.push(runAsOwner(migration, owner, options.ownerRole!));
    }
    const executor = new MigrationExecutor(dataSource, queryRunner);
    executor.transaction = options.transaction ?? 'each';
    return await executor.executePendingMigrations();
  } finally {
    for (const undo of restore) undo();
    try {
      await queryRunner.query(`SELECT pg_advisory_unlock(${MIGRATION_LOCK_KEY})`);
    } finally {
      await queryRunner.release();
    }
  }
}

/**
 * Wraps one migration's `up` so it runs as the owner role once that role exists and the login may act
 * as it. A migration that needs more than the owner may (`ALTER TABLE … OWNER` of a table the login
 * created, `CREATE EXTENSION`) fails with 42501 inside a savepoint, is rolled back to it and runs again
 * as the login, with a warning: its tables then need their grants written out, as before.
 */
function runAsOwner(migration: MigrationInterface, owner: string, ownerName: string): () => void {
  if ((migration as { [ROLE_MIGRATION]?: boolean })[ROLE_MIGRATION]) return () => undefined;
  const up = migration.up;
  const own = Object.prototype.hasOwnProperty.call(migration, 'up');
  const name = (migration as { name?: string }).name ?? migration.constructor.name;
  migration.up = async function (this: MigrationInterface, queryRunner: QueryRunner) {
    const [{ can }] = await queryRunner.query(
      `SELECT CASE WHEN to_regrole($1) IS NULL THEN false ELSE pg_has_role(to_regrole($1), 'MEMBER') END AS can`,
      [owner],
    );
    if (!can) return up.call(this, queryRunner);
    if (!queryRunner.isTransactionActive) {
      await queryRunner.query(`SET ROLE ${owner}`);
      try {
        await up.call(this, queryRunner);
      } finally {
        await queryRunner.query('RESET ROLE');
      }
      return;
    }
    await queryRunner.query('SAVEPOINT zt_as_owner');
    await queryRunner.query(`SET LOCAL ROLE ${owner}`);
    try {
      await up.call(this, queryRunner);
    } catch (error) {
      if ((error as { driverError?: { code?: string } }).driverError?.code !== '42501') throw error;
      await queryRunner.query('ROLLBACK TO SAVEPOINT zt_as_owner');
      await queryRunner.query('RESET ROLE');
      new Logger('ZeroTrustModule').warn(
        `migration ${name} needs more than ${ownerName} may (${(error as Error).message}): it ran as the migration login instead. ` +
          'Tables it creates belong to that login and get no default grants: grant what the runtime role needs in the migration.',
      );
      await up.call(this, queryRunner);
      return;
    }
    await queryRunner.query('RELEASE SAVEPOINT zt_as_owner');
    await queryRunner.query('RESET ROLE');
  };
  return () => {
    if (own) migration.up = up;
    else delete (migration as { up?: unknown }).up;
  };
}

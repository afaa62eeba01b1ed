/**
 * UserCredentialsMigration as a migration: refuses to run in the wrong order, is idempotent, and `down`
 * gives the runtime role back what LeastPrivilegeRoleMigration granted (PGlite, the sample's migrations).
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { PGliteDriver } from 'typeorm-pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserCredentialsMigration } from '../../lib/accounts/user-credentials.migration.js';

process.env.ZT_RLS_IDENTITY_KEY ??= randomBytes(48).toString('base64');

describe('UserCredentialsMigration (PGlite)', () => {
  let db: DataSource;
  let migrations: Array<new () => { up(runner: unknown): Promise<void>; down(runner: unknown): Promise<void> }>;

  const state = async () => ({
    grants: await db.query(`SELECT table_name, column_name, privilege_type FROM information_schema.column_privileges WHERE grantee = 'notes_app' AND table_name = 'users' ORDER BY 1, 2, 3`),
    tableGrants: await db.query(`SELECT privilege_type FROM information_schema.table_privileges WHERE grantee = 'notes_app' AND table_name = 'users' ORDER BY 1`),
    // zt_users_mark_verified belongs to the lifecycle migration (LifecycleCredentialsMigration), not to this one.
    functions: (await db.query(`SELECT proname FROM pg_proc WHERE (proname LIKE 'zt\\_users\\_%' AND proname <> 'zt_users_mark_verified') OR proname IN ('zt_audit_grant_change', 'zt_mfa_factors_audit_state') ORDER BY 1`)).map((r: { proname: string }) => r.proname),
    triggers: (await db.query(`SELECT tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1`)).map((r: { tgname: string }) => r.tgname),
    rls: await db.query(`SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname IN ('zt_mfa_factors', 'zt_recovery_codes') ORDER BY 1`),
  });

  beforeAll(async () => {
    const options = await import('../../sample/src/database/database.options.js');
    migrations = options.MIGRATIONS as never;
    db = await new DataSource({ type: 'postgres', driver: new PGliteDriver().driver, entities: options.ENTITIES, migrations: options.MIGRATIONS } as DataSourceOptions).initialize();
    await db.runMigrations();
  });
  afterAll(() => db?.destroy());

  it('refuses to run before the roles, the identity functions or the audit table exist, saying what to run first', async () => {
    const early = new (UserCredentialsMigration({ ownerRole: 'nobody_owner', runtimeRole: 'notes_app', grantColumns: ['scopes'], grantAdminScope: 'users:admin' }))();
    const runner = db.createQueryRunner();
    try {
      await expect(early.up(runner)).rejects.toThrow(/role nobody_owner does not exist: run LeastPrivilegeRoleMigration first/);
      const typo = new (UserCredentialsMigration({ ownerRole: 'notes_owner', runtimeRole: 'notes_app', grantColumns: ['scope'], grantAdminScope: 'users:admin' }))();
      await expect(typo.up(runner)).rejects.toThrow(/users has no column "scope"/);
    } finally {
      await runner.release();
    }
    expect(() => UserCredentialsMigration({ ownerRole: 'o', runtimeRole: 'r', grantColumns: [], grantAdminScope: 'users:admin' })).toThrow(/grantColumns/);
    expect(() => UserCredentialsMigration({ ownerRole: 'o', runtimeRole: 'r', grantColumns: ['scopes; DROP TABLE users'], grantAdminScope: 'x' })).toThrow(/plain SQL name/);
  });

  it('is idempotent, and down gives back the table-level grants and drops its functions, triggers and policies', async () => {
    const migration = new (migrations.find((m) => m.name === 'UserCredentials1732000310000')!)();
    const runner = db.createQueryRunner();
    try {
      // Once more first: a later migration of the sample may have added a column (up grants the ones it finds).
      await migration.up(runner);
      const applied = await state();
      expect(applied.grants.find((g: { column_name: string; privilege_type: string }) => g.column_name === 'password_hash' && g.privilege_type === 'SELECT')).toBeUndefined();
      expect(applied.tableGrants).toEqual([]);
      expect(applied.rls).toEqual([
        { relname: 'zt_mfa_factors', relrowsecurity: true, relforcerowsecurity: true },
        { relname: 'zt_recovery_codes', relrowsecurity: true, relforcerowsecurity: true },
      ]);
      await migration.up(runner);
      expect(await state()).toEqual(applied);

      await migration.down(runner);
      const down = await state();
      expect(down.tableGrants.map((g: { privilege_type: string }) => g.privilege_type)).toEqual(['DELETE', 'INSERT', 'SELECT', 'UPDATE']);
      expect(down.functions).toEqual([]);
      expect(down.triggers.filter((t: string) => t.startsWith('zt_'))).toEqual([]);
      expect(down.rls.every((t: { relrowsecurity: boolean }) => !t.relrowsecurity)).toBe(true);

      await migration.up(runner);
      expect(await state()).toEqual(applied);
    } finally {
      await runner.release();
    }
  });
});

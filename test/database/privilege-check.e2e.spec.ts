import 'reflect-metadata';
import { Logger, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { LeastPrivilegeRoleMigration, ZeroTrustModule } from 'nestjs-zero-trust';
import { DatabasePrivilegeCheck } from '../../lib/database/database-privilege.check.js';
import pg from 'pg';
import { Column, DataSource, Entity, PrimaryColumn } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startPrivatePostgres, type PrivatePostgres } from './private-postgres.js';

@Entity('items')
class Item {
  @PrimaryColumn('uuid') id!: string;
  @Column('uuid') ownerId!: string;
}

const IDENTITY_KEY = randomBytes(32).toString('base64');

async function boot(url: string, environment: string, { rls = true }: { rls?: boolean } = {}) {
  @Module({
    imports: [
      ZeroTrustModule.forRoot({
        issuer: 'https://issuer.test',
        audience: 'check',
        environment,
        auditSinks: [],
        ...(rls ? { rowLevelSecurity: { identityKey: IDENTITY_KEY } } : {}),
        // Production refuses ephemeral keys, so give it a real one.
        keys: [{ kid: 'k1', alg: 'ES256', privateKey: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey }],
      }),
      TypeOrmModule.forRoot({ type: 'postgres', url, entities: [Item], retryAttempts: 0, extra: { statement_timeout: 5000, connectionTimeoutMillis: 2000 } }),
    ],
  })
  class CheckModule {}
  const app = await NestFactory.create(CheckModule, { logger: false, abortOnError: false });
  try {
    await app.init();
  } finally {
    await app.close();
  }
}

describe('DatabasePrivilegeCheck.excessPrivileges', () => {
  const none = { name: 'app', rolsuper: false, rolbypassrls: false, rolcreaterole: false, rolcreatedb: false, rolreplication: false, schema_create: false, owned_tables: [], owner_memberships: [], powerful_roles: [] };
  it('finds nothing wrong with a least-privilege role', () => {
    expect(DatabasePrivilegeCheck.excessPrivileges(none)).toEqual([]);
  });
  it.each([
    ['rolsuper', /SUPERUSER/],
    ['rolbypassrls', /NOBYPASSRLS/],
    ['rolcreaterole', /NOCREATEROLE/],
    ['rolcreatedb', /NOCREATEDB/],
    ['rolreplication', /NOREPLICATION/],
    ['schema_create', /REVOKE CREATE ON SCHEMA/],
  ])('names %s with its fix', (flag, fix) => {
    expect(DatabasePrivilegeCheck.excessPrivileges({ ...none, [flag]: true }).join('\n')).toMatch(fix);
  });
  it('tells a superuser connection to serve as the runtime role, not to strip attributes from the superuser', () => {
    const lines = DatabasePrivilegeCheck.excessPrivileges({ ...none, name: 'postgres', rolsuper: true, rolbypassrls: true, rolcreaterole: true });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/Serve as the runtime role/);
    expect(lines[0]).not.toMatch(/ALTER ROLE/);
  });
  it('names owned tables, owner-role membership and server-file roles', () => {
    const lines = DatabasePrivilegeCheck.excessPrivileges({ ...none, owned_tables: ['notes'], owner_memberships: ['notes_owner'], powerful_roles: ['pg_read_server_files'] }).join('\n');
    expect(lines).toMatch(/owns tables \(notes\)/);
    expect(lines).toMatch(/REVOKE <owner role>/);
    expect(lines).toMatch(/REVOKE pg_read_server_files/);
  });
});

/**
 * A PostgreSQL server of the test's own: "CONNECT on other databases" is about the whole server, and
 * the shared one has other databases (other tests', `postgres`, `template1`) every role may connect to.
 * Here they are locked down first, as the README's production section says to.
 */
describe('boot check against a real PostgreSQL connection', () => {
  const suffix = randomBytes(5).toString('hex');
  const database = `zt_check_${suffix}`;
  let server: PrivatePostgres;
  let root: pg.Client;
  let dbUrl: string;
  let runtimeUrl: string;

  beforeAll(async () => {
    server = await startPrivatePostgres();
    root = new pg.Client({ connectionString: server.url() });
    await root.connect();
    await root.query(`REVOKE CONNECT, TEMPORARY ON DATABASE postgres, template1 FROM PUBLIC`);
    await root.query(`CREATE DATABASE ${database}`);
    dbUrl = server.url({ database });
    process.env.ZT_TEST_RUNTIME_PASSWORD = `pw-${randomBytes(12).toString('hex')}`;
    process.env.ZT_TEST_CHECK_IDENTITY_KEY = IDENTITY_KEY;
    const migration = class LeastPrivilege1732000300000 extends LeastPrivilegeRoleMigration({
      ownerRole: `zt_owner_${suffix}`, runtimeRole: `zt_app_${suffix}`, runtimePasswordEnv: 'ZT_TEST_RUNTIME_PASSWORD',
      rowLevelSecurity: [{ entity: Item }], identityKeyEnv: 'ZT_TEST_CHECK_IDENTITY_KEY',
    }) {};
    const admin = await new DataSource({ type: 'postgres', url: dbUrl, entities: [Item], synchronize: true, migrations: [migration] }).initialize();
    await admin.runMigrations();
    await admin.destroy();
    runtimeUrl = server.url({ database, user: `zt_app_${suffix}`, password: process.env.ZT_TEST_RUNTIME_PASSWORD });
  });
  afterAll(async () => {
    await root?.end();
    server?.stop();
  });

  it('refuses to start in production on a superuser connection, naming the privilege', async () => {
    await expect(boot(dbUrl, 'production')).rejects.toThrow(/"postgres" the app connects as has privileges it does not need:\n {2}- SUPERUSER/);
  });

  it('only warns outside production', async () => {
    const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      await boot(dbUrl, 'development');
      expect(warn.mock.calls.flat().join('\n')).toMatch(/SUPERUSER/);
    } finally {
      warn.mockRestore();
    }
  });

  it('starts in production as the runtime role made by the migration', async () => {
    await expect(boot(runtimeUrl, 'production')).resolves.toBeUndefined();
  });

  /**
   * One over-privileged variant per test: the runtime role gets one thing more, the production boot
   * must refuse and name it with its fix, and afterwards the grant is taken back and it boots again.
   */
  const extra = `zt_extra_${suffix}`;
  const runtime = () => `zt_app_${suffix}`;
  const owner = () => `zt_owner_${suffix}`;
  it.each<[string, string[], RegExp, string[], { rls?: boolean }?]>([
    ['BYPASSRLS on the role itself', [`ALTER ROLE {runtime} BYPASSRLS`], /BYPASSRLS: .*Fix: ALTER ROLE "zt_app_\w+" NOBYPASSRLS/, [`ALTER ROLE {runtime} NOBYPASSRLS`]],
    ['CREATEDB on the role itself', [`ALTER ROLE {runtime} CREATEDB`], /Fix: ALTER ROLE "zt_app_\w+" NOCREATEDB/, [`ALTER ROLE {runtime} NOCREATEDB`]],
    ['membership, through another role, in a BYPASSRLS role', [`CREATE ROLE ${extra}_b NOLOGIN BYPASSRLS`, `CREATE ROLE ${extra}_m NOLOGIN`, `GRANT ${extra}_b TO ${extra}_m`, `GRANT ${extra}_m TO {runtime}`], /member of .*zt_extra_\w+_b.* \(directly or through other roles\).*Fix: REVOKE/, [`DROP ROLE ${extra}_m`, `DROP ROLE ${extra}_b`]],
    ['membership in a SUPERUSER role (the runtime role is NOINHERIT: SET ROLE still reaches it)', [`CREATE ROLE ${extra}_s NOLOGIN SUPERUSER`, `GRANT ${extra}_s TO {runtime}`], /member of .*zt_extra_\w+_s/, [`DROP ROLE ${extra}_s`]],
    ['membership in a CREATEROLE role', [`CREATE ROLE ${extra}_c NOLOGIN CREATEROLE`, `GRANT ${extra}_c TO {runtime}`], /member of .*zt_extra_\w+_c/, [`DROP ROLE ${extra}_c`]],
    ['membership in a CREATEDB role', [`CREATE ROLE ${extra}_d NOLOGIN CREATEDB`, `GRANT ${extra}_d TO {runtime}`], /member of .*zt_extra_\w+_d/, [`DROP ROLE ${extra}_d`]],
    ['membership in a REPLICATION role', [`CREATE ROLE ${extra}_r NOLOGIN REPLICATION`, `GRANT ${extra}_r TO {runtime}`], /member of .*zt_extra_\w+_r/, [`DROP ROLE ${extra}_r`]],
    ['membership in the owner role', [`GRANT {owner} TO {runtime}`], /member of the tables' owner role \(zt_owner_\w+\).*Fix: REVOKE <owner role>/, [`REVOKE {owner} FROM {runtime}`]],
    ['membership in a predefined pg_* role', [`GRANT pg_signal_backend TO {runtime}`], /member of pg_signal_backend/, [`REVOKE pg_signal_backend FROM {runtime}`]],
    ['membership in pg_read_server_files', [`GRANT pg_read_server_files TO {runtime}`], /member of pg_read_server_files.*Fix: REVOKE pg_read_server_files/, [`REVOKE pg_read_server_files FROM {runtime}`]],
    ['ownership of a table', [`CREATE TABLE public.zt_extra_t (id int)`, `ALTER TABLE public.zt_extra_t OWNER TO {runtime}`], /owns tables \(zt_extra_t\)/, [`DROP TABLE public.zt_extra_t`]],
    ['ownership of a function', [`CREATE FUNCTION public.zt_extra_fn() RETURNS int LANGUAGE sql AS 'SELECT 1'`, `ALTER FUNCTION public.zt_extra_fn() OWNER TO {runtime}`], /owns function zt_extra_fn\(\)/, [`DROP FUNCTION public.zt_extra_fn()`]],
    ['ownership of a view', [`CREATE VIEW public.zt_extra_v AS SELECT 1 AS one`, `ALTER VIEW public.zt_extra_v OWNER TO {runtime}`], /owns view zt_extra_v/, [`DROP VIEW public.zt_extra_v`]],
    ['ownership of a schema', [`CREATE SCHEMA zt_extra_s AUTHORIZATION {runtime}`], /owns schema zt_extra_s/, [`DROP SCHEMA zt_extra_s`]],
    ['CREATE on the schema', [`GRANT CREATE ON SCHEMA public TO {runtime}`], /CREATE on the schema.*Fix: REVOKE CREATE ON SCHEMA/, [`REVOKE CREATE ON SCHEMA public FROM {runtime}`]],
    ['TRUNCATE on a table', [`GRANT TRUNCATE ON items TO {runtime}`], /items: TRUNCATE/, [`REVOKE TRUNCATE ON items FROM {runtime}`]],
    ['UPDATE and DELETE on the append-only audit table', [`CREATE TABLE zt_audit_log (id serial PRIMARY KEY, type text)`, `GRANT INSERT, UPDATE, DELETE ON zt_audit_log TO {runtime}`], /can UPDATE, DELETE the append-only audit table zt_audit_log/, [`DROP TABLE zt_audit_log`]],
    ['TEMPORARY on the database', [`GRANT TEMPORARY ON DATABASE ${database} TO {runtime}`], /TEMPORARY on the database/, [`REVOKE TEMPORARY ON DATABASE ${database} FROM {runtime}`]],
    ['CONNECT and TEMPORARY on another database of the server (PUBLIC keeps them on a new database)', [`CREATE DATABASE ${database}_other`], new RegExp(`may connect to other databases of the server \\(${database}_other: CONNECT, TEMPORARY\\).*Fix: REVOKE CONNECT, TEMPORARY ON DATABASE "${database}_other" FROM PUBLIC`), [`DROP DATABASE ${database}_other`]],
    ['CONNECT on the postgres database', [`GRANT CONNECT ON DATABASE postgres TO {runtime}`], /other databases of the server \(postgres: CONNECT\)/, [`REVOKE CONNECT ON DATABASE postgres FROM {runtime}`]],
    ['creating large objects', [`GRANT EXECUTE ON FUNCTION lo_create(oid) TO {runtime}`], /can create large objects/, [`REVOKE EXECUTE ON FUNCTION lo_create(oid) FROM {runtime}`]],
    ['row-level security on in the database but off in the module (drift)', [], /row-level security is on in the database \(items\) but off in ZeroTrustModule/, [], { rls: false }],
    ['row-level security on in the module but on no table (drift)', [`DROP POLICY zero_trust_owner ON items`, `ALTER TABLE items DISABLE ROW LEVEL SECURITY`], /row-level security is on in ZeroTrustModule but no table carries its policy/, [`ALTER TABLE items ENABLE ROW LEVEL SECURITY`, `CREATE POLICY zero_trust_owner ON items USING ("ownerId"::text = (SELECT public.zt_current_subject())) WITH CHECK ("ownerId"::text = (SELECT public.zt_current_subject()))`]],
    ['row-level security not forced (drift)', [`ALTER TABLE items NO FORCE ROW LEVEL SECURITY`], /row-level security is not forced on items/, [`ALTER TABLE items FORCE ROW LEVEL SECURITY`]],
    ['the module\'s policy replaced by one that lets every row through (drift)', [`ALTER POLICY zero_trust_owner ON items USING (true)`], /policy zero_trust_owner on items no longer compares the owner/, [`ALTER POLICY zero_trust_owner ON items USING ("ownerId"::text = (SELECT public.zt_current_subject()))`]],
    ['another permissive policy beside the module\'s, ORed with it (drift)', [`CREATE POLICY zt_extra_all ON items USING (true)`], /other policies on the module's tables \(items: zt_extra_all\)/, [`DROP POLICY zt_extra_all ON items`]],
    ['a table with row-level security and no policy (drift)', [`DROP POLICY zero_trust_owner ON items`], /row-level security is on for items with no policy: every query sees no rows/, [`CREATE POLICY zero_trust_owner ON items USING ("ownerId"::text = (SELECT public.zt_current_subject())) WITH CHECK ("ownerId"::text = (SELECT public.zt_current_subject()))`]],
    ['grants on a table the app does not declare (drift)', [`CREATE TABLE public.billing (id int)`, `GRANT SELECT ON public.billing TO {runtime}`], /may read or write tables the app does not declare \(billing\)/, [`DROP TABLE public.billing`]],
  ])('refuses to start in production with %s', async (_variant, grants, error, cleanup, options) => {
    const admin = new pg.Client({ connectionString: dbUrl });
    await admin.connect();
    const run = async (statements: string[]) => {
      for (const sql of statements) await admin.query(sql.replaceAll('{runtime}', runtime()).replaceAll('{owner}', owner()));
    };
    try {
      await run(grants);
      await expect(boot(runtimeUrl, 'production', options)).rejects.toThrow(error);
    } finally {
      await run(cleanup);
      await admin.end();
    }
    // Back to least privilege: it boots again.
    await expect(boot(runtimeUrl, 'production')).resolves.toBeUndefined();
  });
});

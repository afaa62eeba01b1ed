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
import { requirePostgresUrl } from '../support/services.js';

@Entity('items')
class Item {
  @PrimaryColumn('uuid') id!: string;
  @Column('uuid') ownerId!: string;
}

const pgUrl = requirePostgresUrl();

async function boot(url: string, environment: string) {
  @Module({
    imports: [
      ZeroTrustModule.forRoot({
        issuer: 'https://issuer.test',
        audience: 'check',
        environment,
        auditSinks: [],
        // Production refuses ephemeral keys, so give it a real one.
        keys: [{ kid: 'k1', alg: 'ES256', privateKey: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey }],
      }),
      TypeOrmModule.forRoot({ type: 'postgres', url, entities: [Item], retryAttempts: 0 }),
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

describe.skipIf(!pgUrl)('boot check against a real PostgreSQL connection', () => {
  const suffix = randomBytes(5).toString('hex');
  const database = `zt_check_${suffix}`;
  let root: pg.Client;
  let dbUrl: URL;
  let runtimeUrl: URL;

  beforeAll(async () => {
    root = new pg.Client({ connectionString: pgUrl });
    await root.connect();
    await root.query(`CREATE DATABASE ${database}`);
    dbUrl = new URL(pgUrl!);
    dbUrl.pathname = `/${database}`;
    process.env.ZT_TEST_RUNTIME_PASSWORD = `pw-${randomBytes(12).toString('hex')}`;
    const migration = class LeastPrivilege1732000300000 extends LeastPrivilegeRoleMigration({
      ownerRole: `zt_owner_${suffix}`, runtimeRole: `zt_app_${suffix}`, runtimePasswordEnv: 'ZT_TEST_RUNTIME_PASSWORD',
    }) {};
    const admin = await new DataSource({ type: 'postgres', url: dbUrl.toString(), entities: [Item], synchronize: true, migrations: [migration] }).initialize();
    await admin.runMigrations();
    await admin.destroy();
    runtimeUrl = new URL(dbUrl);
    runtimeUrl.username = `zt_app_${suffix}`;
    runtimeUrl.password = process.env.ZT_TEST_RUNTIME_PASSWORD;
  });
  afterAll(async () => {
    await root.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    for (const role of [`zt_app_${suffix}`, `zt_owner_${suffix}`]) await root.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
    await root.end();
  });

  it('refuses to start in production on a superuser connection, naming the privilege', async () => {
    await expect(boot(dbUrl.toString(), 'production')).rejects.toThrow(/"postgres" the app connects as has privileges it does not need:\n {2}- SUPERUSER/);
  });

  it('only warns outside production', async () => {
    const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      await boot(dbUrl.toString(), 'development');
      expect(warn.mock.calls.flat().join('\n')).toMatch(/SUPERUSER/);
    } finally {
      warn.mockRestore();
    }
  });

  it('starts in production as the runtime role made by the migration', async () => {
    await expect(boot(runtimeUrl.toString(), 'production')).resolves.toBeUndefined();
  });

  /**
   * One over-privileged variant per test: the runtime role gets one thing more, the production boot
   * must refuse and name it, and afterwards the grant is taken back.
   */
  const extra = `zt_extra_${suffix}`;
  const runtime = () => `zt_app_${suffix}`;
  it.each([
    ['membership, through another role, in a BYPASSRLS role', [`CREATE ROLE ${extra}_b NOLOGIN BYPASSRLS`, `CREATE ROLE ${extra}_m NOLOGIN`, `GRANT ${extra}_b TO ${extra}_m`, `GRANT ${extra}_m TO {runtime}`], /member of .*zt_extra_\w+_b.* \(directly or through other roles\)/, [`DROP ROLE ${extra}_m`, `DROP ROLE ${extra}_b`]],
    ['membership in a SUPERUSER role (the runtime role is NOINHERIT: SET ROLE still reaches it)', [`CREATE ROLE ${extra}_s NOLOGIN SUPERUSER`, `GRANT ${extra}_s TO {runtime}`], /member of .*zt_extra_\w+_s/, [`DROP ROLE ${extra}_s`]],
    ['membership in a CREATEROLE role', [`CREATE ROLE ${extra}_c NOLOGIN CREATEROLE`, `GRANT ${extra}_c TO {runtime}`], /member of .*zt_extra_\w+_c/, [`DROP ROLE ${extra}_c`]],
    ['membership in a predefined pg_* role', [`GRANT pg_signal_backend TO {runtime}`], /member of pg_signal_backend/, [`REVOKE pg_signal_backend FROM {runtime}`]],
    ['ownership of a function', [`CREATE FUNCTION public.zt_extra_fn() RETURNS int LANGUAGE sql AS 'SELECT 1'`, `ALTER FUNCTION public.zt_extra_fn() OWNER TO {runtime}`], /owns function zt_extra_fn\(\)/, [`DROP FUNCTION public.zt_extra_fn()`]],
    ['TRUNCATE on a table', [`GRANT TRUNCATE ON items TO {runtime}`], /items: TRUNCATE/, [`REVOKE TRUNCATE ON items FROM {runtime}`]],
    ['UPDATE and DELETE on the append-only audit table', [`CREATE TABLE zt_audit_log (id serial PRIMARY KEY, type text)`, `GRANT INSERT, UPDATE, DELETE ON zt_audit_log TO {runtime}`], /can UPDATE, DELETE the append-only audit table zt_audit_log/, [`DROP TABLE zt_audit_log`]],
    ['TEMPORARY on the database', [`GRANT TEMPORARY ON DATABASE ${database} TO {runtime}`], /TEMPORARY on the database/, [`REVOKE TEMPORARY ON DATABASE ${database} FROM {runtime}`]],
    ['creating large objects', [`GRANT EXECUTE ON FUNCTION lo_create(oid) TO {runtime}`], /can create large objects/, [`REVOKE EXECUTE ON FUNCTION lo_create(oid) FROM {runtime}`]],
    ['row-level security on in the database but off in the module (drift)', [`ALTER TABLE items ENABLE ROW LEVEL SECURITY`, `CREATE POLICY zero_trust_owner ON items USING (true)`], /row-level security is on in the database \(items\) but off in ZeroTrustModule/, [`DROP POLICY zero_trust_owner ON items`, `ALTER TABLE items DISABLE ROW LEVEL SECURITY`]],
  ])('refuses to start in production with %s', async (_variant, grants, error, cleanup) => {
    const admin = new pg.Client({ connectionString: dbUrl.toString() });
    await admin.connect();
    const run = async (statements: string[]) => {
      for (const sql of statements) await admin.query(sql.replaceAll('{runtime}', runtime()));
    };
    try {
      await run(grants);
      await expect(boot(runtimeUrl.toString(), 'production')).rejects.toThrow(error);
    } finally {
      await run(cleanup);
      await admin.end();
    }
    // Back to least privilege: it boots again.
    await expect(boot(runtimeUrl.toString(), 'production')).resolves.toBeUndefined();
  });
});

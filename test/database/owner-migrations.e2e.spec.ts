import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { LeastPrivilegeRoleMigration, runMigrationsAsOwner } from 'nestjs-zero-trust';
import pg from 'pg';
import { Column, DataSource, Entity, type MigrationInterface, PrimaryColumn, type QueryRunner } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requirePostgresUrl } from '../support/services.js';

@Entity('items')
class Item {
  @PrimaryColumn('uuid') id!: string;
  @Column('uuid') ownerId!: string;
}

/** A table added by a later migration (after the least-privilege one), as the resource schematic does. */
@Entity('later_items')
class LaterItem {
  @PrimaryColumn('int') id!: number;
}

class CreateItems1732000000000 implements MigrationInterface {
  async up(q: QueryRunner) {
    await q.query(`CREATE TABLE items (id uuid PRIMARY KEY, "ownerId" uuid NOT NULL)`);
    // Counts how often a migration body runs: two migrators racing would run it twice.
    await q.query(`CREATE TABLE migration_runs (name text)`);
    await q.query(`SELECT pg_sleep(0.2)`);
    await q.query(`INSERT INTO migration_runs VALUES ('items')`);
  }
  async down(q: QueryRunner) {
    await q.query(`DROP TABLE items`);
  }
}

class CreateLaterItems1732000400000 implements MigrationInterface {
  async up(q: QueryRunner) {
    await q.query(`CREATE TABLE later_items (id int PRIMARY KEY)`);
  }
  async down(q: QueryRunner) {
    await q.query(`DROP TABLE later_items`);
  }
}

const pgUrl = requirePostgresUrl();

interface Project {
  database: string;
  owner: string;
  runtime: string;
  password: string;
  url: string;
  runtimeUrl: string;
}

describe.skipIf(!pgUrl)('migrations run as the owner, under a lock, one project per set of roles', () => {
  const suffix = randomBytes(5).toString('hex');
  const root = new pg.Client({ connectionString: pgUrl });
  const databases: string[] = [];
  const roles: string[] = [];

  function project(name: string, roleBase = `zt_${name}_${suffix}`): Project {
    const database = `zt_mig_${name}_${suffix}`;
    const password = randomBytes(12).toString('hex');
    const url = new URL(pgUrl!);
    url.pathname = `/${database}`;
    const runtimeUrl = new URL(url);
    runtimeUrl.username = `${roleBase}_app`;
    runtimeUrl.password = password;
    return { database, owner: `${roleBase}_owner`, runtime: `${roleBase}_app`, password, url: url.toString(), runtimeUrl: runtimeUrl.toString() };
  }

  async function create(p: Project) {
    await root.query(`CREATE DATABASE ${p.database}`);
    databases.push(p.database);
    for (const role of [p.runtime, p.owner]) if (!roles.includes(role)) roles.push(role);
  }

  /** A migrator of the project, as `npm run migrate` builds it: the owner URL, the project's own migrations. */
  function migrator(p: Project) {
    const env = `ZT_TEST_PW_${p.runtime.toUpperCase()}`;
    process.env[env] = p.password;
    const leastPrivilege = class LeastPrivilege1732000300000 extends LeastPrivilegeRoleMigration({ ownerRole: p.owner, runtimeRole: p.runtime, runtimePasswordEnv: env }) {};
    /** Needs more than the owner may (the table belongs to the login): falls back to the login. */
    class AdoptRuns1732000500000 implements MigrationInterface {
      async up(q: QueryRunner) {
        await q.query(`ALTER TABLE migration_runs OWNER TO ${p.owner}`);
      }
      async down() {}
    }
    return new DataSource({
      type: 'postgres',
      url: p.url,
      entities: [Item, LaterItem],
      migrations: [CreateItems1732000000000, leastPrivilege, CreateLaterItems1732000400000, AdoptRuns1732000500000],
    });
  }

  async function migrate(p: Project, mode: 'owner' | 'plain' = 'owner') {
    const dataSource = await migrator(p).initialize();
    try {
      return mode === 'owner' ? await runMigrationsAsOwner(dataSource, { ownerRole: p.owner }) : await dataSource.runMigrations();
    } finally {
      await dataSource.destroy();
    }
  }

  async function asRuntime<T>(p: Project, work: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client({ connectionString: p.runtimeUrl });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  }

  const passwordOf = async (role: string) => (await root.query(`SELECT rolpassword FROM pg_authid WHERE rolname = $1`, [role])).rows[0]?.rolpassword as string;

  beforeAll(async () => {
    await root.connect();
  });

  afterAll(async () => {
    for (const database of databases) await root.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    for (const role of roles) await root.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
    await root.end();
  });

  it('issue 15.9: two migrators at once on one fresh database both succeed, and each migration runs once', async () => {
    const p = project('race');
    await create(p);
    const [one, two] = await Promise.all([migrate(p), migrate(p)]);
    expect(one.length + two.length).toBe(4);
    const check = new pg.Client({ connectionString: p.url });
    await check.connect();
    try {
      expect((await check.query(`SELECT name FROM migration_runs ORDER BY name`)).rows.map((row) => row.name)).toEqual(['items']);
      expect((await check.query(`SELECT count(*)::int AS n, count(DISTINCT name)::int AS d FROM migrations`)).rows[0]).toEqual({ n: 4, d: 4 });
    } finally {
      await check.end();
    }
  });

  it('issue 14.8: a table created by a later migration belongs to the owner role and the runtime role may use it', async () => {
    const p = project('later');
    await create(p);
    await migrate(p);
    const check = new pg.Client({ connectionString: p.url });
    await check.connect();
    try {
      const owners = await check.query(`SELECT relname, pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relname IN ('items', 'later_items', 'migration_runs') ORDER BY 1`);
      // migration_runs: a migration that needed more than the owner may ran again as the login, and did its work.
      expect(owners.rows).toEqual([{ relname: 'items', owner: p.owner }, { relname: 'later_items', owner: p.owner }, { relname: 'migration_runs', owner: p.owner }]);
    } finally {
      await check.end();
    }
    await asRuntime(p, async (client) => {
      await client.query(`INSERT INTO later_items VALUES (1)`);
      expect((await client.query(`SELECT count(*)::int AS n FROM later_items`)).rows[0].n).toBe(1);
      // Still no more than DML: the owner's table cannot be dropped by the runtime role.
      await expect(client.query(`DROP TABLE later_items`)).rejects.toMatchObject({ code: '42501' });
    });
  });

  it('issue 14.8, the bug: the same migrations run as the superuser leave the later table without grants (42501)', async () => {
    const p = project('plain');
    await create(p);
    await migrate(p, 'plain');
    await asRuntime(p, async (client) => {
      await expect(client.query(`SELECT * FROM later_items`)).rejects.toMatchObject({ code: '42501' });
    });
  });

  it('issue 14.6: a second project on the same server keeps its own roles and leaves the first one serving', async () => {
    const a = project('a');
    const b = project('b');
    await create(a);
    await create(b);
    await migrate(a);
    const before = await passwordOf(a.runtime);
    await migrate(b);
    expect(await passwordOf(a.runtime)).toBe(before);
    await asRuntime(a, async (client) => {
      expect((await client.query(`SELECT current_user AS who, count(*)::int AS n FROM items GROUP BY 1`)).rows).toEqual([]);
      expect((await client.query(`SELECT current_user AS who`)).rows[0].who).toBe(a.runtime);
    });
    // Neither runtime role may connect to the other project's database.
    await expect(asRuntime({ ...a, runtimeUrl: a.runtimeUrl.replace(`/${a.database}`, `/${b.database}`) }, async () => undefined)).rejects.toMatchObject({ code: '42501' });
  });

  it('issue 14.6: a second project given the first one\'s role names is refused, and the first one\'s password stays', async () => {
    const a = project('c');
    await create(a);
    await migrate(a);
    const before = await passwordOf(a.runtime);
    const clash = { ...project('d'), owner: a.owner, runtime: a.runtime };
    await create(clash);
    await expect(migrate(clash)).rejects.toThrow(
      new RegExp(`roles ${a.owner}( / ${a.runtime})? already serve database "${a.database}".*DATABASE_OWNER_ROLE / DATABASE_RUNTIME_ROLE`),
    );
    expect(await passwordOf(a.runtime)).toBe(before);
    await asRuntime(a, async (client) => {
      expect((await client.query(`SELECT count(*)::int AS n FROM items`)).rows[0].n).toBe(0);
    });
    // Only the runtime role's name taken, through TypeORM's own runner: the least-privilege migration refuses it too.
    const runtimeClash = { ...project('e'), runtime: a.runtime };
    await create(runtimeClash);
    await expect(migrate(runtimeClash, 'plain')).rejects.toThrow(new RegExp(`${a.runtime} already serve database "${a.database}"`));
    expect(await passwordOf(a.runtime)).toBe(before);
  });
});

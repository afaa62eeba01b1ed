import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { leastPrivilege, MODULE_MIGRATIONS, seedSql } from './contenders.js';
import { Note } from './note.entity.js';

export interface PostgresBench {
  /** Runtime-role URL of the database with a plain `notes` table. */
  url: string;
  /** Runtime-role URL of the database whose `notes` has forced row-level security. */
  rlsUrl: string;
  /** Superuser client, to find the contenders' backends (pg_stat_activity) and read their CPU time. */
  admin: DataSource;
  drop(): Promise<void>;
}

/**
 * Two throwaway databases on the machine's PostgreSQL (random names, random roles), each migrated as
 * production would be: the module's tables, then the least-privilege migration; the contenders connect
 * as the runtime role over TCP. Everything is dropped by `drop()`, also after a failure.
 */
export async function createPostgresBench(rootUrl: string): Promise<PostgresBench> {
  process.env.BENCH_RUNTIME_PASSWORD ??= `pw-${randomBytes(12).toString('hex')}`;
  const admin = await new DataSource({ type: 'postgres', url: rootUrl, extra: { max: 1 } }).initialize();
  const suffix = randomBytes(4).toString('hex');
  const created: { databases: string[]; roles: string[] } = { databases: [], roles: [] };
  const drop = async () => {
    for (const database of created.databases) await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined);
    for (const role of created.roles) await admin.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
    await admin.destroy().catch(() => undefined);
  };
  try {
    const urls: string[] = [];
    for (const rls of [false, true]) {
      const roles = `${suffix}${rls ? 'r' : 'p'}`;
      const database = `zt_bench_${roles}`;
      await admin.query(`CREATE DATABASE ${database}`);
      created.databases.push(database);
      created.roles.push(`zt_bench_app_${roles}`, `zt_bench_owner_${roles}`);
      const url = new URL(rootUrl);
      url.pathname = `/${database}`;
      const owner = await new DataSource({
        type: 'postgres',
        url: url.toString(),
        entities: [Note],
        synchronize: true,
        migrations: [...MODULE_MIGRATIONS, leastPrivilege(roles, rls, false)],
      }).initialize();
      try {
        await owner.runMigrations();
        for (const sql of seedSql) await owner.query(sql);
      } finally {
        await owner.destroy();
      }
      url.username = `zt_bench_app_${roles}`;
      url.password = process.env.BENCH_RUNTIME_PASSWORD;
      urls.push(url.toString());
    }
    return { url: urls[0], rlsUrl: urls[1], admin, drop };
  } catch (error) {
    await drop();
    throw error;
  }
}

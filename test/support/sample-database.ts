import type { INestApplication } from '@nestjs/common';
import { DataSource } from 'typeorm';

/**
 * Runs SQL as the database owner for test setup and checks, bypassing the runtime role and its
 * row-level-security policies. On the sample's PGlite (one session serving as the runtime role) that
 * is `SET LOCAL ROLE` inside a transaction, which ends with the transaction.
 */
export async function asOwner<T = Record<string, unknown>>(app: INestApplication, sql: string, params: unknown[] = []): Promise<T[]> {
  return app.get(DataSource).transaction(async (manager) => {
    await manager.query('SET LOCAL ROLE postgres');
    return manager.query(sql, params);
  });
}

/**
 * A database of its own for the sample on the real PostgreSQL, set up the production way: migrations
 * run as the owner (`DATABASE_MIGRATION_URL`), the app serves as the runtime role the least-privilege
 * migration creates (`DATABASE_URL`). Role names are cluster-wide, so they must be random per test:
 * set `ZT_DB_OWNER_ROLE`/`ZT_DB_RUNTIME_ROLE` before the sample is imported (see `randomSampleRoles`).
 */
export async function useSamplePostgres(adminUrl: string): Promise<() => Promise<void>> {
  const pg = (await import('pg')).default;
  const { randomBytes } = await import('node:crypto');
  const database = `zt_sample_${randomBytes(6).toString('hex')}`;
  const root = new pg.Client({ connectionString: adminUrl });
  await root.connect();
  await root.query(`CREATE DATABASE ${database}`);
  const owner = new URL(adminUrl);
  owner.pathname = `/${database}`;
  const password = randomBytes(16).toString('hex');
  const runtime = new URL(owner);
  runtime.username = process.env.ZT_DB_RUNTIME_ROLE!;
  runtime.password = password;
  Object.assign(process.env, { DATABASE_MIGRATION_URL: owner.toString(), DATABASE_URL: runtime.toString(), DATABASE_RUNTIME_PASSWORD: password });
  return async () => {
    for (const name of ['DATABASE_MIGRATION_URL', 'DATABASE_URL', 'DATABASE_RUNTIME_PASSWORD']) delete process.env[name];
    await root.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    for (const role of [process.env.ZT_DB_RUNTIME_ROLE, process.env.ZT_DB_OWNER_ROLE]) await root.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
    await root.end();
  };
}

/** The sample's audit trail rows of one type, newest first (flushes the buffered sink first). */
export async function auditEvents(app: INestApplication, type: string, limit = 5) {
  const { AUDIT_TRAIL } = await import('../../sample/src/audit/audit-trail.module.js');
  await app.get<{ flush(): Promise<void> }>(AUDIT_TRAIL).flush();
  return asOwner<{ type: string; reason: string | null; subject: string | null; sessionId: string | null; ip: string | null; route: string | null; details: Record<string, unknown> | null }>(
    app,
    `SELECT type, reason, subject, session_id AS "sessionId", ip, route, details FROM zt_audit_log WHERE type = $1 ORDER BY id DESC LIMIT $2`,
    [type, limit],
  );
}

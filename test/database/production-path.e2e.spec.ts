import type { INestApplication } from '@nestjs/common';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import pg from 'pg';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startPrivatePostgres, type PrivatePostgres } from './private-postgres.js';

// The sample's default role names (notes_owner / notes_app): this server is the test's own.
vi.hoisted(() => {
  for (const name of ['ZT_DB_OWNER_ROLE', 'ZT_DB_RUNTIME_ROLE', 'DATABASE_URL', 'DATABASE_MIGRATION_URL']) delete process.env[name];
  process.env.ZT_AUTH_RATE_LIMIT = '10000';
});
const { createSampleApp } = await import('../../sample/src/app.factory.js');
const { migrateDatabase } = await import('../../sample/src/database/database.options.js');

/**
 * Issue 14, item 5 and "a production path that never serves as the owner": `npm run migrate` runs with
 * the owner's URL, then the app starts in production with the runtime role's URL only, and the boot
 * checks (privileges, drift, transport, timeouts) pass. On a PostgreSQL of the test's own, whose other
 * databases are locked down as the README's production section says.
 */
describe('the sample on the production path: migrate as the owner, serve as the runtime role', () => {
  let server: PrivatePostgres;
  let app: INestApplication | undefined;
  const saved = { ...process.env };
  const password = randomBytes(16).toString('hex');

  beforeAll(async () => {
    server = await startPrivatePostgres();
    const root = new pg.Client({ connectionString: server.url() });
    await root.connect();
    await root.query('REVOKE CONNECT, TEMPORARY ON DATABASE postgres, template1 FROM PUBLIC');
    await root.query('CREATE DATABASE notes');
    await root.end();
    Object.assign(process.env, {
      ZT_JWT_PRIVATE_KEY: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
      ZT_RLS_IDENTITY_KEY: randomBytes(48).toString('base64'),
      ZT_MFA_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      ZT_PASSWORD_PEPPER: randomBytes(32).toString('base64'),
      // Production settings of other features of the sample (not under test here).
      ZT_POW_HMAC_KEY: randomBytes(32).toString('base64'),
      ZT_SMTP_URL: 'smtp://127.0.0.1:9',
    });
  });

  afterAll(async () => {
    await app?.close();
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
    server?.stop();
  });

  it('npm run migrate applies every migration as the owner login, once', async () => {
    const env = { ...process.env, NODE_ENV: 'production', DATABASE_MIGRATION_URL: server.url({ database: 'notes' }), DATABASE_RUNTIME_PASSWORD: password };
    const ran = await migrateDatabase(env);
    expect(ran).toContain('LeastPrivilege1732000300000');
    expect(await migrateDatabase(env)).toEqual([]);
  });

  it('refuses to serve in production with the owner URL in the environment', async () => {
    Object.assign(process.env, {
      NODE_ENV: 'production',
      DATABASE_URL: server.url({ database: 'notes', user: 'notes_app', password }),
      DATABASE_MIGRATION_URL: server.url({ database: 'notes' }),
    });
    try {
      await expect(createSampleApp('express', false)).rejects.toThrow(/DATABASE_MIGRATION_URL is set in the serving process/);
    } finally {
      delete process.env.DATABASE_MIGRATION_URL;
    }
  });

  it('serves in production as notes_app with the runtime URL only: every boot check passes', async () => {
    Object.assign(process.env, { NODE_ENV: 'production', DATABASE_URL: server.url({ database: 'notes', user: 'notes_app', password }) });
    app = await createSampleApp('express', false);
    const db = app.get(DataSource);
    expect((await db.query('SELECT current_user AS who'))[0].who).toBe('notes_app');
    await expect(db.query('DROP TABLE notes')).rejects.toMatchObject({ driverError: { code: '42501' } });
    // Served: the public health route answers, a protected route asks for a token (the routes of the
    // account flows are other tests' subject).
    const http = request(app.getHttpServer());
    await http.get('/health').expect(200);
    await http.get('/notes').expect(401);
    // What the runtime role may do is DML on its tables, through the row-level-security wall.
    await db.query(`INSERT INTO zt_audit_log (time, type, outcome) VALUES (now(), 'test.event', 'success')`);
    await expect(db.query(`DELETE FROM zt_audit_log`)).rejects.toMatchObject({ driverError: { code: '42501' } });
    expect(await db.query(`SELECT count(*)::int AS n FROM notes`)).toEqual([{ n: 0 }]);
  });
});

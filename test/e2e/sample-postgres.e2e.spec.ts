import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { requirePostgresUrl } from '../support/services.js';
import { useSamplePostgres } from '../support/sample-database.js';

// Before the sample is imported: its migration reads the (cluster-wide, so random) role names.
vi.hoisted(() => {
  const suffix = Math.random().toString(36).slice(2, 10);
  Object.assign(process.env, { ZT_DB_OWNER_ROLE: `zt_owner_${suffix}`, ZT_DB_RUNTIME_ROLE: `zt_app_${suffix}`, ZT_AUTH_RATE_LIMIT: '10000' });
});
const { createSampleApp } = await import('../../sample/src/app.factory.js');

const adminUrl = requirePostgresUrl();

/** The sample on real PostgreSQL, migrated as the owner and serving as the least-privilege runtime role. */
describe.skipIf(!adminUrl)('sample notes API on PostgreSQL', () => {
  let app: INestApplication;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    cleanup = await useSamplePostgres(adminUrl!);
    app = await createSampleApp('express', false);
  });

  afterAll(async () => {
    await app?.close();
    await cleanup?.();
  });

  it('serves as the runtime role, which cannot drop or read what it was not given', async () => {
    const db = app.get(DataSource);
    expect((await db.query('SELECT current_user AS who'))[0].who).toBe(process.env.ZT_DB_RUNTIME_ROLE);
    await expect(db.query('DROP TABLE notes')).rejects.toMatchObject({ driverError: { code: '42501' } });
    await expect(db.query('SELECT * FROM migrations')).rejects.toMatchObject({ driverError: { code: '42501' } });
  });

  it('lets the runtime role append to and read the audit trail, never change or delete it', async () => {
    const db = app.get(DataSource);
    await db.query(`INSERT INTO zt_audit_log (time, type, outcome) VALUES (now(), 'test.event', 'success')`);
    expect((await db.query(`SELECT count(*)::int AS n FROM zt_audit_log WHERE type = 'test.event'`))[0].n).toBe(1);
    await expect(db.query(`UPDATE zt_audit_log SET type = 'forged'`)).rejects.toMatchObject({ driverError: { code: '42501' } });
    await expect(db.query(`DELETE FROM zt_audit_log`)).rejects.toMatchObject({ driverError: { code: '42501' } });
    await expect(db.query(`TRUNCATE zt_audit_log`)).rejects.toMatchObject({ driverError: { code: '42501' } });
  });

  it('registers, logs in and stores a note, refusing an extra ownerId', async () => {
    const http = request(app.getHttpServer());
    await http.post('/auth/register').set('Content-Type', 'application/json').send({ email: 'a@example.com', password: 'correct horse battery' }).expect(201);
    const token = (await http.post('/auth/login').set('Content-Type', 'application/json').send({ email: 'a@example.com', password: 'correct horse battery' }).expect(200)).body.accessToken;
    await http.post('/notes').set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json').send({ title: 't', body: 'b', ownerId: 'x' }).expect(400);
    await http.post('/notes').set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json').send({ title: 't', body: 'b' }).expect(201);
    const notes = (await http.get('/notes').set('Authorization', `Bearer ${token}`).expect(200)).body;
    expect(notes).toHaveLength(1);
  });
});

/**
 * Issue 20 on real PostgreSQL: the lifecycle flows served by the least-privilege runtime role (a
 * login role of its own), so the grants of `AccountLifecycle1732000320000` are what they must be: the
 * runtime role registers, verifies and resets, and may neither delete a token nor insert an account
 * that claims to be verified.
 */
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { requirePostgresUrl } from '../support/services.js';
import { useSamplePostgres } from '../support/sample-database.js';
import { json, mailedToken, PASSWORD, proof } from './lifecycle-support.js';

vi.hoisted(() => {
  const suffix = Math.random().toString(36).slice(2, 10);
  Object.assign(process.env, {
    ZT_DB_OWNER_ROLE: `zt_owner_${suffix}`,
    ZT_DB_RUNTIME_ROLE: `zt_app_${suffix}`,
    ZT_AUTH_RATE_LIMIT: '10000',
    ZT_POW_DIFFICULTY: '300',
    ZT_POW_RAISED_DIFFICULTY: '3000',
  });
});
const { createSampleApp } = await import('../../sample/src/app.factory.js');

const adminUrl = requirePostgresUrl();

describe.skipIf(!adminUrl)('issue 20: account lifecycle of the sample on PostgreSQL', () => {
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

  it('registers, verifies, resets and signs in as the runtime role', async () => {
    const http = request(app.getHttpServer());
    await http.post('/account/register').set(json).set('X-Altcha', await proof(http, 'register')).send({ email: 'pg@example.com', password: PASSWORD }).expect(202);
    await http.post('/auth/login').set(json).send({ email: 'pg@example.com', password: PASSWORD }).expect(401);
    await http.post('/account/verify').set(json).send({ token: await mailedToken(app, 'pg@example.com', 'verify_address') }).expect(204);
    await http.post('/auth/login').set(json).send({ email: 'pg@example.com', password: PASSWORD }).expect(200);
    await http.post('/account/password/forgot').set(json).set('X-Altcha', await proof(http, 'password_reset')).send({ email: 'pg@example.com' }).expect(202);
    const token = await mailedToken(app, 'pg@example.com', 'password_reset');
    await http.post('/account/password/reset').set(json).send({ token, password: 'staple mountain orange river' }).expect(204);
    await http.post('/auth/login').set(json).send({ email: 'pg@example.com', password: 'staple mountain orange river' }).expect(200);
  });

  it('gives the runtime role no way to erase a token or to create an account already verified', async () => {
    const db = app.get(DataSource);
    expect((await db.query('SELECT current_user AS who'))[0].who).toBe(process.env.ZT_DB_RUNTIME_ROLE);
    await expect(db.query('DELETE FROM zt_account_tokens')).rejects.toMatchObject({ driverError: { code: '42501' } });
    await expect(db.query(`INSERT INTO users (id, email, password_hash, email_verified_at) VALUES (gen_random_uuid(), 'x@example.com', 'zp1$x', now())`)).rejects.toMatchObject({ driverError: { code: '42501' } });
    await expect(db.query('DROP TABLE zt_passkeys')).rejects.toMatchObject({ driverError: { code: '42501' } });
  });
});

/**
 * Issue 13, item 12 on PostgreSQL, two instances behind one database: parallel refreshes with one token
 * rotate it once, and every one of them within the grace period gets the same successor; with the grace
 * period off, exactly one of them succeeds (the statement that claims the token is the only arbiter).
 */
import type { INestApplication } from '@nestjs/common';
import { generateKeyPairSync } from 'node:crypto';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { useSamplePostgres } from '../support/sample-database.js';
import { requirePostgresUrl } from '../support/services.js';

vi.hoisted(() => {
  const suffix = Math.random().toString(36).slice(2, 10);
  Object.assign(process.env, { ZT_DB_OWNER_ROLE: `zt_owner_${suffix}`, ZT_DB_RUNTIME_ROLE: `zt_app_${suffix}`, ZT_AUTH_RATE_LIMIT: '10000' });
});
const { createSampleApp } = await import('../../sample/src/app.factory.js');

const adminUrl = requirePostgresUrl();
const PASSWORD = 'correct horse battery';
const json = { 'Content-Type': 'application/json' };

describe.skipIf(!adminUrl)('13.12: the refresh grace period on PostgreSQL, two instances', () => {
  let cleanup: () => Promise<void>;
  let one: INestApplication;
  let two: INestApplication;
  let strictOne: INestApplication;
  let strictTwo: INestApplication;
  let counter = 0;

  async function session(app: INestApplication) {
    const email = `pg-grace${++counter}@example.com`;
    await request(app.getHttpServer()).post('/auth/register').set(json).send({ email, password: PASSWORD }).expect(201);
    return (await request(app.getHttpServer()).post('/auth/login').set(json).send({ email, password: PASSWORD }).expect(200)).body;
  }
  const burst = (apps: INestApplication[], refreshToken: string, n: number) =>
    Promise.all(Array.from({ length: n }, (_, i) => request(apps[i % 2].getHttpServer()).post('/auth/refresh').set(json).send({ refreshToken })));
  const liveTokens = async (app: INestApplication, sessionId: string) =>
    (await app.get(DataSource).query(`SELECT count(*)::int AS n FROM zt_refresh_tokens WHERE session_id = $1 AND used_at IS NULL`, [sessionId]))[0].n as number;

  beforeAll(async () => {
    cleanup = await useSamplePostgres(adminUrl!);
    process.env.ZT_JWT_PRIVATE_KEY = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    one = await createSampleApp('express', false);
    two = await createSampleApp('fastify', false);
    process.env.ZT_REFRESH_GRACE_PERIOD = '0';
    strictOne = await createSampleApp('express', false);
    strictTwo = await createSampleApp('fastify', false);
    delete process.env.ZT_REFRESH_GRACE_PERIOD;
  });

  afterAll(async () => {
    for (const app of [one, two, strictOne, strictTwo]) await app?.close();
    delete process.env.ZT_JWT_PRIVATE_KEY;
    delete process.env.ZT_REFRESH_GRACE_PERIOD;
    await cleanup?.();
  });

  it('13.12: twelve parallel refreshes over two instances all get the same successor; one live refresh token remains', async () => {
    const { refreshToken, sessionId } = await session(one);
    const results = await burst([one, two], refreshToken, 12);
    expect(results.map((r) => r.status)).toEqual(Array(12).fill(200));
    expect(new Set(results.map((r) => r.body.refreshToken)).size).toBe(1);
    expect(await liveTokens(one, sessionId)).toBe(1);
    await request(two.getHttpServer()).get('/notes').set('Authorization', `Bearer ${results[11].body.accessToken}`).expect(200);
  });

  it('13.12: outside the grace period reuse detection holds across instances', async () => {
    const stolen = await session(one);
    const rotated = (await request(one.getHttpServer()).post('/auth/refresh').set(json).send({ refreshToken: stolen.refreshToken }).expect(200)).body;
    await one.get(DataSource).query(`UPDATE zt_refresh_tokens SET used_at = used_at - interval '3 seconds' WHERE session_id = $1 AND used_at IS NOT NULL`, [stolen.sessionId]);
    await request(two.getHttpServer()).post('/auth/refresh').set(json).send({ refreshToken: stolen.refreshToken }).expect(401);
    await request(one.getHttpServer()).post('/auth/refresh').set(json).send({ refreshToken: rotated.refreshToken }).expect(401);
  });

  it('13.12: with refreshGracePeriod 0, exactly one of twelve parallel refreshes over two instances succeeds', async () => {
    const { refreshToken } = await session(strictOne);
    const results = await burst([strictOne, strictTwo], refreshToken, 12);
    expect(results.map((r) => r.status).sort()).toEqual([200, ...Array(11).fill(401)]);
  });
});

import type { INestApplication } from '@nestjs/common';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import pg from 'pg';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSampleApp } from '../../sample/src/app.factory.js';
import { requirePostgresUrl } from '../support/services.js';

const adminUrl = requirePostgresUrl();
process.env.ZT_AUTH_RATE_LIMIT = '10000';
const PASSWORD = 'correct horse battery';

/** Two sample instances on one real PostgreSQL database, as in production behind a load balancer. */
describe.skipIf(!adminUrl)('sessions on PostgreSQL, two instances', () => {
  const database = `zt_sessions_${randomBytes(6).toString('hex')}`;
  let one: INestApplication;
  let two: INestApplication;

  const json = { 'Content-Type': 'application/json' };
  async function session(app: INestApplication, email: string) {
    await request(app.getHttpServer()).post('/auth/register').set(json).send({ email, password: PASSWORD }).expect(201);
    return (await request(app.getHttpServer()).post('/auth/login').set(json).send({ email, password: PASSWORD }).expect(200)).body;
  }

  beforeAll(async () => {
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    await admin.end();
    const url = new URL(adminUrl!);
    url.pathname = `/${database}`;
    process.env.DATABASE_URL = url.toString();
    // Instances of one deployment share the signing key (an ephemeral key per instance would not).
    process.env.ZT_JWT_PRIVATE_KEY = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    one = await createSampleApp('express', false);
    two = await createSampleApp('fastify', false);
  });

  afterAll(async () => {
    await one?.close();
    await two?.close();
    delete process.env.DATABASE_URL;
    delete process.env.ZT_JWT_PRIVATE_KEY;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  });

  it('lets exactly one of many parallel refreshes succeed, across both instances', async () => {
    const { refreshToken } = await session(one, 'parallel@example.com');
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => request((i % 2 ? one : two).getHttpServer()).post('/auth/refresh').set(json).send({ refreshToken })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, ...Array(11).fill(401)]);
  });

  it('enforces a revocation at once on the revoking instance, and on the other within revocationCacheMs (1000 ms)', async () => {
    const { accessToken } = await session(one, 'revoked@example.com');
    // The other instance has just cached the session as live.
    await request(two.getHttpServer()).get('/notes').set('Authorization', `Bearer ${accessToken}`).expect(200);
    const revokedAt = Date.now();
    await request(one.getHttpServer()).post('/auth/logout').set('Authorization', `Bearer ${accessToken}`).expect(204);
    await request(one.getHttpServer()).get('/notes').set('Authorization', `Bearer ${accessToken}`).expect(401);
    let status = 200;
    while (status === 200 && Date.now() - revokedAt < 3000) {
      status = (await request(two.getHttpServer()).get('/notes').set('Authorization', `Bearer ${accessToken}`)).status;
      if (status === 200) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(status).toBe(401);
    expect(Date.now() - revokedAt).toBeLessThan(1000 + 300);
  });

  it('detects refresh-token reuse across instances', async () => {
    const first = await session(one, 'reuse@example.com');
    const rotated = (await request(one.getHttpServer()).post('/auth/refresh').set(json).send({ refreshToken: first.refreshToken }).expect(200)).body;
    await request(two.getHttpServer()).post('/auth/refresh').set(json).send({ refreshToken: first.refreshToken }).expect(401);
    await request(one.getHttpServer()).post('/auth/refresh').set(json).send({ refreshToken: rotated.refreshToken }).expect(401);
  });
});

import type { INestApplication } from '@nestjs/common';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { useSamplePostgres } from '../support/sample-database.js';
import { requirePostgresUrl, requireRedisUrl } from '../support/services.js';

vi.hoisted(() => {
  const suffix = Math.random().toString(36).slice(2, 10);
  Object.assign(process.env, { ZT_DB_OWNER_ROLE: `zt_owner_${suffix}`, ZT_DB_RUNTIME_ROLE: `zt_app_${suffix}`, ZT_AUTH_RATE_LIMIT: '10000' });
});
const { createSampleApp } = await import('../../sample/src/app.factory.js');

const pgUrl = requirePostgresUrl();
const redisUrl = requireRedisUrl();

/** Two instances sharing PostgreSQL and Redis: a revocation reaches the other instance through Redis at once. */
describe.skipIf(!pgUrl || !redisUrl)('session revocation broadcast over Redis', () => {
  let cleanup: () => Promise<void>;
  let one: INestApplication;
  let two: INestApplication;

  beforeAll(async () => {
    cleanup = await useSamplePostgres(pgUrl!);
    Object.assign(process.env, {
      ZT_JWT_PRIVATE_KEY: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
      REDIS_URL: redisUrl,
      // A cache bound far longer than the test: only the broadcast can make the other instance notice.
      ZT_REVOCATION_CACHE_TTL: '60',
    });
    process.env.ZT_REDIS_PREFIX = `zt-test-${randomBytes(6).toString('hex')}:`;
    one = await createSampleApp('express', false);
    two = await createSampleApp('fastify', false);
  });

  afterAll(async () => {
    await one?.close();
    await two?.close();
    for (const name of ['ZT_JWT_PRIVATE_KEY', 'REDIS_URL', 'ZT_REVOCATION_CACHE_TTL', 'ZT_REDIS_PREFIX']) delete process.env[name];
    await cleanup?.();
  });

  it('makes the other instance refuse a logged-out session at once, not after revocationCacheTtl', async () => {
    const json = { 'Content-Type': 'application/json' };
    await request(one.getHttpServer()).post('/auth/register').set(json).send({ email: 'r@example.com', password: 'correct horse battery' }).expect(201);
    const { accessToken } = (await request(one.getHttpServer()).post('/auth/login').set(json).send({ email: 'r@example.com', password: 'correct horse battery' }).expect(200)).body;
    await request(two.getHttpServer()).get('/notes').set('Authorization', `Bearer ${accessToken}`).expect(200);
    const revokedAt = Date.now();
    await request(one.getHttpServer()).post('/auth/logout').set('Authorization', `Bearer ${accessToken}`).expect(204);
    let status = 200;
    while (status === 200 && Date.now() - revokedAt < 5000) {
      status = (await request(two.getHttpServer()).get('/notes').set('Authorization', `Bearer ${accessToken}`)).status;
      if (status === 200) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(status).toBe(401);
    expect(Date.now() - revokedAt).toBeLessThan(1000);
  });
});

import type { INestApplication } from '@nestjs/common';
import { generateKeyPairSync } from 'node:crypto';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { useSamplePostgres } from '../support/sample-database.js';
import { requirePostgresUrl } from '../support/services.js';

vi.hoisted(() => {
  const suffix = Math.random().toString(36).slice(2, 10);
  Object.assign(process.env, { ZT_DB_OWNER_ROLE: `zt_owner_${suffix}`, ZT_DB_RUNTIME_ROLE: `zt_app_${suffix}` });
});
const { createSampleApp } = await import('../../sample/src/app.factory.js');

const adminUrl = requirePostgresUrl();
process.env.ZT_AUTH_RATE_LIMIT = '10000';
const PASSWORD = 'correct horse battery';

/** Two sample instances on one real PostgreSQL database, as in production behind a load balancer. */
describe.skipIf(!adminUrl)('sessions on PostgreSQL, two instances', () => {
  let cleanup: () => Promise<void>;
  let one: INestApplication;
  let two: INestApplication;

  const json = { 'Content-Type': 'application/json' };
  async function session(app: INestApplication, email: string) {
    await request(app.getHttpServer()).post('/auth/register').set(json).send({ email, password: PASSWORD }).expect(201);
    return (await request(app.getHttpServer()).post('/auth/login').set(json).send({ email, password: PASSWORD }).expect(200)).body;
  }

  beforeAll(async () => {
    cleanup = await useSamplePostgres(adminUrl!);
    // Instances of one deployment share the signing key (an ephemeral key per instance would not).
    process.env.ZT_JWT_PRIVATE_KEY = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    one = await createSampleApp('express', false);
    two = await createSampleApp('fastify', false);
  });

  afterAll(async () => {
    await one?.close();
    await two?.close();
    delete process.env.ZT_JWT_PRIVATE_KEY;
    await cleanup?.();
  });

  it('lets many parallel refreshes across both instances rotate the token once: one successor for all of them', async () => {
    const { refreshToken, sessionId } = await session(one, 'parallel@example.com');
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => request((i % 2 ? one : two).getHttpServer()).post('/auth/refresh').set(json).send({ refreshToken })),
    );
    // Within the refresh grace period every one gets the same successor; the family never forks.
    expect(results.map((r) => r.status)).toEqual(Array(12).fill(200));
    expect(new Set(results.map((r) => r.body.refreshToken)).size).toBe(1);
    const [{ live }] = await one.get(DataSource).query(`SELECT count(*)::int AS live FROM zt_refresh_tokens WHERE session_id = $1 AND used_at IS NULL`, [sessionId]);
    expect(live).toBe(1);
  });

  it('enforces a revocation at once on the revoking instance, and on the other within revocationCacheTtl (1 s)', async () => {
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
    // After the refresh grace period (2 s), moved back here instead of waited for.
    await one.get(DataSource).query(`UPDATE zt_refresh_tokens SET used_at = used_at - interval '1 minute' WHERE session_id = $1 AND used_at IS NOT NULL`, [first.sessionId]);
    await request(two.getHttpServer()).post('/auth/refresh').set(json).send({ refreshToken: first.refreshToken }).expect(401);
    await request(one.getHttpServer()).post('/auth/refresh').set(json).send({ refreshToken: rotated.refreshToken }).expect(401);
  });
});

import type { INestApplication } from '@nestjs/common';
import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { useSamplePostgres } from '../support/sample-database.js';
import { requirePostgresUrl } from '../support/services.js';

vi.hoisted(() => {
  const suffix = Math.random().toString(36).slice(2, 10);
  Object.assign(process.env, { ZT_DB_OWNER_ROLE: `zt_owner_${suffix}`, ZT_DB_RUNTIME_ROLE: `zt_app_${suffix}`, ZT_AUTH_RATE_LIMIT: '10000' });
});
const { createSampleApp } = await import('../../sample/src/app.factory.js');

const pgUrl = requirePostgresUrl();

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Issue 15, item 5: Redis is down when the instances boot. The revocation broadcast must subscribe once
 * Redis comes up (and after every reconnect), instead of never, which left every instance serving a
 * revoked token for the whole cache bound after each logout. The Redis here is the test's own, on its
 * own port: the machine's shared one is never stopped.
 */
describe.skipIf(!pgUrl)('the revocation broadcast when Redis comes up after the instances', () => {
  let cleanup: () => Promise<void>;
  let redisServer: ChildProcess | undefined;
  let one: INestApplication;
  let two: INestApplication;
  let port: number;
  const prefix = `zt-late-${randomBytes(6).toString('hex')}:`;

  beforeAll(async () => {
    cleanup = await useSamplePostgres(pgUrl!);
    port = await freePort();
    Object.assign(process.env, {
      ZT_JWT_PRIVATE_KEY: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
      REDIS_URL: `redis://127.0.0.1:${port}`,
      // Only the broadcast can make the other instance notice within the test.
      ZT_REVOCATION_CACHE_TTL: '60',
      ZT_REDIS_PREFIX: prefix,
    });
    // Both instances boot while nothing listens on the Redis port.
    one = await createSampleApp('express', false);
    two = await createSampleApp('fastify', false);
    redisServer = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    // Bounded wait: both subscriptions arrive once Redis answers.
    const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 100 });
    probe.on('error', () => undefined);
    const deadline = Date.now() + 15_000;
    let subscribers = 0;
    while (subscribers < 2 && Date.now() < deadline) {
      try {
        if (probe.status !== 'ready') await probe.connect().catch(() => undefined);
        const [, count] = (await probe.pubsub('NUMSUB', `${prefix}session-revocations`)) as [string, number];
        subscribers = Number(count);
      } catch {
        // not up yet
      }
      if (subscribers < 2) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    probe.disconnect();
    expect(subscribers).toBe(2);
  }, 60_000);

  afterAll(async () => {
    await one?.close();
    await two?.close();
    redisServer?.kill('SIGKILL');
    for (const name of ['ZT_JWT_PRIVATE_KEY', 'REDIS_URL', 'ZT_REVOCATION_CACHE_TTL', 'ZT_REDIS_PREFIX']) delete process.env[name];
    await cleanup?.();
  });

  it('15.5: a logout on one instance is refused at once on the other, although Redis was down at their boot', async () => {
    const json = { 'Content-Type': 'application/json' };
    await request(one.getHttpServer()).post('/auth/register').set(json).send({ email: 'late@example.com', password: 'correct horse battery' }).expect(201);
    const { accessToken } = (await request(one.getHttpServer()).post('/auth/login').set(json).send({ email: 'late@example.com', password: 'correct horse battery' }).expect(200)).body;
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

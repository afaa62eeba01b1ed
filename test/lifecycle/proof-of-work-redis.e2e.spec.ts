/**
 * Issue 20: a proof-of-work solution is accepted once across instances sharing Redis (one on each
 * adapter), and when the store cannot answer the check fails closed (503) instead of letting a
 * replay through.
 */
import type { INestApplication } from '@nestjs/common';
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { type AddressInfo, createServer } from 'node:net';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSampleApp } from '../../sample/src/app.factory.js';
import { requireRedisUrl } from '../support/services.js';
import { json, PASSWORD, proof, snapshot } from './lifecycle-support.js';

const redisUrl = requireRedisUrl();

describe.skipIf(!redisUrl)('issue 20: proof of work shared through Redis', () => {
  const prefix = `zt-test-${randomBytes(6).toString('hex')}:`;
  let admin: Redis;
  let one: INestApplication;
  let two: INestApplication;

  beforeAll(async () => {
    Object.assign(process.env, {
      ZT_DB: 'memory',
      ZT_AUTH_RATE_LIMIT: '10000',
      ZT_POW_DIFFICULTY: '300',
      ZT_POW_RAISED_DIFFICULTY: '3000',
      // Every instance signs and checks with the same key, as in production.
      ZT_POW_HMAC_KEY: randomBytes(32).toString('base64'),
      REDIS_URL: redisUrl,
      ZT_REDIS_PREFIX: prefix,
    });
    admin = new Redis(redisUrl!);
    one = await createSampleApp('express', false);
    two = await createSampleApp('fastify', false);
  }, 120_000);
  afterAll(async () => {
    await one?.close();
    await two?.close();
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length) await admin.del(...keys);
    admin?.disconnect();
    delete process.env.REDIS_URL;
  });

  it('accepts a solution on one instance and refuses it on the other (nothing stored there)', async () => {
    const payload = await proof(request(one.getHttpServer()), 'register');
    await request(one.getHttpServer()).post('/account/register').set(json).set('X-Altcha', payload).send({ email: 'first@example.com', password: PASSWORD }).expect(202);
    const before = await snapshot(two);
    await request(two.getHttpServer()).post('/account/register').set(json).set('X-Altcha', payload).send({ email: 'replay@example.com', password: PASSWORD }).expect(403);
    expect(await snapshot(two)).toBe(before);
    expect((await admin.keys(`${prefix}pow:spent:*`)).length).toBeGreaterThan(0);
  });

  it('fails closed (503) when the store cannot say whether a solution was spent', async () => {
    const dead = createServer();
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
    const deadUrl = `redis://127.0.0.1:${(dead.address() as AddressInfo).port}`;
    await new Promise((resolve) => dead.close(resolve));
    const payload = await proof(request(one.getHttpServer()), 'register');
    process.env.REDIS_URL = deadUrl;
    const down = await createSampleApp('express', false);
    try {
      const before = await snapshot(down);
      const response = await request(down.getHttpServer()).post('/account/register').set(json).set('X-Altcha', payload).send({ email: 'outage@example.com', password: PASSWORD });
      expect(response.status).toBe(503);
      expect(await snapshot(down)).toBe(before);
    } finally {
      await down.close();
      process.env.REDIS_URL = redisUrl;
    }
  }, 60_000);
});

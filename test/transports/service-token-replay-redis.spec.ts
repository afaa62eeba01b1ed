import { type INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Redis } from 'ioredis';
import { ServiceTokens, ZeroTrustModule } from 'nestjs-zero-trust';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireRedisUrl } from '../support/services.js';

const redisUrl = requireRedisUrl();

describe.skipIf(!redisUrl)('service tokens: a replay is refused by every instance sharing the store (Redis)', () => {
  const prefix = `zt-svc-${randomUUID().slice(0, 8)}:`;
  const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const privateKey = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const publicKey = keys.publicKey.export({ type: 'spki', format: 'pem' }) as string;
  let api: INestApplicationContext;
  const workers: INestApplicationContext[] = [];

  const context = async (options: Record<string, unknown>) => {
    @Module({ imports: [ZeroTrustModule.forRoot({ issuer: 'https://api.test', ...options } as never)] })
    class InstanceModule {}
    return NestFactory.createApplicationContext(InstanceModule, { logger: false });
  };

  beforeAll(async () => {
    api = await context({ audience: 'notes-api', keys: [{ kid: 'k', alg: 'ES256', privateKey }] });
    for (let i = 0; i < 2; i++) workers.push(await context({ audience: 'notes-worker', keys: [{ kid: 'k', alg: 'ES256', publicKey }], store: redisUrl, storeKeyPrefix: prefix }));
  });
  afterAll(async () => {
    for (const worker of workers) await worker.close();
    await api?.close();
    const redis = new Redis(redisUrl!);
    const stale = await redis.keys(`${prefix}*`);
    if (stale.length > 0) await redis.del(...stale);
    await redis.quit();
  });

  it('accepts a token once on one instance and refuses it on the other', async () => {
    const token = api.get(ServiceTokens).issue({ service: 'notes-api', audience: 'notes-worker', scopes: ['notes:index'] });
    await expect(workers[0].get(ServiceTokens).verify(token)).resolves.toMatchObject({ subject: 'service:notes-api', scopes: ['notes:index'] });
    await expect(workers[1].get(ServiceTokens).verify(token)).rejects.toThrow(/already used/);
  });

  it('lets exactly one of two racing deliveries of one token through', async () => {
    const token = api.get(ServiceTokens).issue({ service: 'notes-api', audience: 'notes-worker', scopes: ['notes:index'] });
    const outcomes = await Promise.allSettled(workers.map((worker) => worker.get(ServiceTokens).verify(token)));
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
  });
});

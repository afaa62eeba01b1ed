/**
 * Issue 13, item 3 on PostgreSQL, two instances: N parallel uses of one recovery code give exactly one
 * session, and two codes used at once do not bring either back.
 */
import type { INestApplication } from '@nestjs/common';
import { generateKeyPairSync } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { useSamplePostgres } from '../support/sample-database.js';
import { requirePostgresUrl } from '../support/services.js';
import { mfaUser } from '../sessions/sample-accounts.js';

vi.hoisted(() => {
  const suffix = Math.random().toString(36).slice(2, 10);
  Object.assign(process.env, { ZT_DB_OWNER_ROLE: `zt_owner_${suffix}`, ZT_DB_RUNTIME_ROLE: `zt_app_${suffix}`, ZT_AUTH_RATE_LIMIT: '10000' });
});
const { createSampleApp } = await import('../../sample/src/app.factory.js');

const adminUrl = requirePostgresUrl();
const PASSWORD = 'correct horse battery';
const json = { 'Content-Type': 'application/json' };

describe.skipIf(!adminUrl)('13.3: one-time recovery codes on PostgreSQL, two instances', () => {
  let cleanup: () => Promise<void>;
  let one: INestApplication;
  let two: INestApplication;
  const loginWith = (app: INestApplication, email: string, otp: string) =>
    request(app.getHttpServer()).post('/auth/login').set(json).send({ email, password: PASSWORD, otp });

  beforeAll(async () => {
    cleanup = await useSamplePostgres(adminUrl!);
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

  it('13.3: eight parallel logins over two instances with one recovery code give exactly one session', async () => {
    const user = await mfaUser(request(one.getHttpServer()), 'pg-recovery-1@example.com');
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => loginWith(i % 2 ? one : two, user.email, user.recoveryCodes[0])));
    expect(results.map((r) => r.status).sort()).toEqual([200, ...Array(7).fill(401)]);
  });

  it('13.3: two different codes used at once on two instances each work once, and neither comes back', async () => {
    const user = await mfaUser(request(one.getHttpServer()), 'pg-recovery-2@example.com');
    const [a, b] = await Promise.all([loginWith(one, user.email, user.recoveryCodes[1]), loginWith(two, user.email, user.recoveryCodes[2])]);
    expect([a.status, b.status]).toEqual([200, 200]);
    await loginWith(two, user.email, user.recoveryCodes[1]).expect(401);
    await loginWith(one, user.email, user.recoveryCodes[2]).expect(401);
  });
});

import type { INestApplication } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { requireRedisUrl } from '../support/services.js';
import { createThrottleApp, RIGHT_PASSWORD } from './throttle-app.js';

const redisUrl = requireRedisUrl();

/** Two instances on two ports share one Redis: limits and lockouts hold across them. */
describe.skipIf(!redisUrl)('rate limits and lockout shared through Redis', () => {
  let admin: Redis;
  let prefix: string;
  const apps: INestApplication[] = [];

  const urlOf = async (app: INestApplication) => `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  const login = async (app: INestApplication, email: string, password = 'wrong', headers: Record<string, string> = {}) =>
    (await fetch(`${await urlOf(app)}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ email, password }) })).status;

  beforeAll(() => {
    admin = new Redis(redisUrl!);
  });
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length) await admin.del(...keys);
  });
  afterAll(() => admin?.disconnect());

  async function twoInstances(options: Parameters<typeof createThrottleApp>[1]) {
    prefix = `zt-test-${randomBytes(6).toString('hex')}:`;
    const one = (await createThrottleApp('express', { store: redisUrl, storeKeyPrefix: prefix, ...options }, true)).app;
    const two = (await createThrottleApp('fastify', { store: redisUrl, storeKeyPrefix: prefix, ...options }, true)).app;
    apps.push(one, two);
    return [one, two] as const;
  }

  it('enforces one combined limit across both instances', async () => {
    const [one, two] = await twoInstances({ throttle: { auth: { limit: 4, window: 60 } }, lockout: false });
    expect([await login(one, 'a@x.io'), await login(two, 'b@x.io'), await login(one, 'c@x.io'), await login(two, 'd@x.io')]).toEqual([401, 401, 401, 401]);
    expect(await login(one, 'e@x.io')).toBe(429);
    expect(await login(two, 'f@x.io')).toBe(429);
    expect((await admin.keys(`${prefix}*`)).length).toBeGreaterThan(0);
  });

  it('counts failed logins of one account across instances and addresses, and locks it everywhere', async () => {
    const [one, two] = await twoInstances({
      trustProxy: 1,
      throttle: { auth: { limit: 100, window: 60 } },
      lockout: { threshold: 4, window: 60, duration: 30 },
    });
    for (let i = 0; i < 4; i++) expect(await login(i % 2 ? one : two, 'victim@x.io', 'guess', { 'x-forwarded-for': `198.51.100.${i}` })).toBe(401);
    expect(await login(one, 'victim@x.io', RIGHT_PASSWORD, { 'x-forwarded-for': '198.51.100.99' })).toBe(401);
    expect(await login(two, 'victim@x.io', RIGHT_PASSWORD, { 'x-forwarded-for': '198.51.100.98' })).toBe(401);
    expect(await login(two, 'someone-else@x.io', RIGHT_PASSWORD)).toBe(200);
    // The store holds hashes, never the account name.
    expect((await admin.keys(`${prefix}*`)).join(' ')).not.toContain('victim');
  });

  it('spoofed forwarding headers do not reset a shared bucket', async () => {
    const [one, two] = await twoInstances({ throttle: { auth: { limit: 2, window: 60 } }, lockout: false });
    await login(one, 'a@x.io');
    await login(two, 'a@x.io');
    for (const spoof of ['203.0.113.1', '203.0.113.2']) expect(await login(one, 'a@x.io', 'x', { 'x-forwarded-for': spoof, 'x-real-ip': spoof })).toBe(429);
  });

  describe('when Redis cannot be reached', () => {
    let deadUrl: string;
    beforeAll(async () => {
      const server = createServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      deadUrl = `redis://127.0.0.1:${(server.address() as AddressInfo).port}`;
      await new Promise((resolve) => server.close(resolve));
    });

    it('fails closed on auth endpoints (503, never hanging) and open elsewhere with a store.unavailable event', async () => {
      prefix = `zt-test-${randomBytes(6).toString('hex')}:`;
      const { app, audit } = await createThrottleApp('express', { store: deadUrl, storeKeyPrefix: prefix }, true);
      apps.push(app);
      const started = Date.now();
      const response = await fetch(`${await urlOf(app)}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'a@x.io', password: RIGHT_PASSWORD }) });
      expect(response.status).toBe(503);
      expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect((await fetch(`${await urlOf(app)}/open`)).status).toBe(200);
      expect(Date.now() - started).toBeLessThan(2000);
      expect(audit.events.some((e) => e.type === 'store.unavailable')).toBe(true);
    });

    it('can be told to fail open on auth endpoints too', async () => {
      prefix = `zt-test-${randomBytes(6).toString('hex')}:`;
      const { app } = await createThrottleApp('express', { store: deadUrl, storeKeyPrefix: prefix, onStoreFailure: { auth: 'open' } }, true);
      apps.push(app);
      expect(await login(app, 'a@x.io', RIGHT_PASSWORD)).toBe(200);
    });
  });
});

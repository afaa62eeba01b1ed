/**
 * Issue 13, item 2: the lockout could be raced. 40 parallel logins on one account had all 40 passwords
 * checked (the right one at position 30 was accepted), pushed the lock straight to its 24 h maximum, and
 * let a single address impose a long lock. `AccountLockoutService.begin()` checks and counts in one atomic
 * step (synchronous code in memory, one Lua script on Redis).
 */
import type { INestApplication } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { AccountLockoutService, ManualClock, MemoryStore } from 'nestjs-zero-trust';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CaptureAuditSink } from '../support/capture-audit.sink.js';
import { requireRedisUrl } from '../support/services.js';
import { PLATFORMS } from '../support/test-app.js';
import { baseUrl, heldBurst, postLogin } from '../throttle/burst.js';
import { createThrottleApp, type PasswordChecks, RIGHT_CODE, RIGHT_PASSWORD } from '../throttle/throttle-app.js';

const LOCKOUT = { threshold: 5, window: 600, duration: 900, maxDuration: 86_400 };
const OPEN_LIMITS = { auth: { limit: 10_000, window: 60 }, default: { limit: 10_000, window: 60 } };
const wrong = (email: string) => ({ email, password: 'wrong guess' });
const right = (email: string) => ({ email, password: RIGHT_PASSWORD });

/** 40 logins for one account, all wrong but the 30th. */
const burstOf40 = (email: string) => Array.from({ length: 40 }, (_, i) => (i === 29 ? right(email) : wrong(email)));

describe.each(PLATFORMS)('13.2: lockout against parallel logins, in memory (%s)', (platform) => {
  let app: INestApplication;
  let audit: CaptureAuditSink;
  let checks: PasswordChecks;
  let clock: ManualClock;
  afterEach(() => app?.close());

  async function start(options: Parameters<typeof createThrottleApp>[1] = {}) {
    clock = new ManualClock();
    ({ app, audit, checks } = await createThrottleApp(platform, { clock, throttle: OPEN_LIMITS, lockout: LOCKOUT, ...options }, true));
    return baseUrl(app);
  }

  it('13.2: of 40 parallel logins only `threshold` passwords are checked; the right one at position 30 is refused', async () => {
    const url = await start();
    const statuses = await heldBurst([url], [checks], burstOf40('victim@example.com'));
    expect(statuses).toEqual(Array(40).fill(401));
    expect(checks.checked).toBe(LOCKOUT.threshold);
    expect(checks.refused).toBe(40 - LOCKOUT.threshold);
    // Those five wrong passwords lock the account, once.
    expect(audit.events.filter((e) => e.type === 'auth.lockout')).toHaveLength(1);
    expect(await postLogin(url, right('victim@example.com'))).toBe(401);
    clock.advance(LOCKOUT.duration * 1000 + 1);
    expect(await postLogin(url, right('victim@example.com'))).toBe(200);
  });

  it('13.2: a simultaneous burst of 40 wrong passwords from one address checks at most `threshold` and locks once, at the first level', async () => {
    const url = await start();
    const statuses = await Promise.all(Array.from({ length: 40 }, () => postLogin(url, wrong('victim@example.com'))));
    expect(statuses).toEqual(Array(40).fill(401));
    expect(checks.checked).toBeLessThanOrEqual(LOCKOUT.threshold);
    const locks = audit.events.filter((e) => e.type === 'auth.lockout');
    expect(locks).toHaveLength(1);
    // Not the 24 h maximum, nor the 30 min of a second level: one lock of `duration`.
    expect(locks[0]).toMatchObject({ details: { level: 1, lockSeconds: LOCKOUT.duration } });
    clock.advance(LOCKOUT.duration * 1000 + 1);
    expect(await postLogin(url, right('victim@example.com'))).toBe(200);
  });

  it('13.2: escalation counts lock events: the next lock, after another `threshold` failures, doubles', async () => {
    const url = await start();
    await Promise.all(Array.from({ length: 40 }, () => postLogin(url, wrong('victim@example.com'))));
    clock.advance(LOCKOUT.duration * 1000 + 1);
    await Promise.all(Array.from({ length: 40 }, () => postLogin(url, wrong('victim@example.com'))));
    const locks = audit.events.filter((e) => e.type === 'auth.lockout');
    expect(locks.map((e) => e.details)).toEqual([
      expect.objectContaining({ level: 1, lockSeconds: LOCKOUT.duration }),
      expect.objectContaining({ level: 2, lockSeconds: 2 * LOCKOUT.duration }),
    ]);
  });

  it('13.2: the older isLocked/recordFailure pattern no longer escalates per parallel failure', async () => {
    const url = await start();
    await Promise.all(Array.from({ length: 40 }, () => postLogin(url, wrong('victim@example.com'), {}, '/auth/legacy-login')));
    const locks = audit.events.filter((e) => e.type === 'auth.lockout');
    expect(locks).toHaveLength(1);
    expect(locks[0]).toMatchObject({ details: { level: 1, lockSeconds: LOCKOUT.duration } });
  });

  it('13.2: a wrong second factor counts like a wrong password, and only a whole successful login clears the count', async () => {
    const url = await start();
    // The password is right each time; the code is not.
    for (let i = 0; i < LOCKOUT.threshold; i++) expect(await postLogin(url, { ...right('victim@example.com'), code: '000000' })).toBe(401);
    expect(audit.last('auth.lockout')).toMatchObject({ details: { level: 1 } });
    expect(await postLogin(url, { ...right('victim@example.com'), code: RIGHT_CODE })).toBe(401);
    clock.advance(LOCKOUT.duration * 1000 + 1);
    // Four wrong codes, a whole successful login, four more wrong codes: the success cleared the count.
    for (let i = 0; i < LOCKOUT.threshold - 1; i++) await postLogin(url, { ...right('victim@example.com'), code: '000000' });
    expect(await postLogin(url, { ...right('victim@example.com'), code: RIGHT_CODE })).toBe(200);
    for (let i = 0; i < LOCKOUT.threshold - 1; i++) await postLogin(url, { ...right('victim@example.com'), code: '000000' });
    expect(await postLogin(url, { ...right('victim@example.com'), code: RIGHT_CODE })).toBe(200);
    expect(audit.events.filter((e) => e.type === 'auth.lockout')).toHaveLength(1);
  });

  it('13.2: a store that fails on the lockout step follows onStoreFailure.auth: 503 when closed, counted nowhere when open', async () => {
    class LockoutDownStore extends MemoryStore {
      override beginAttempt(): never {
        throw new Error('lockout store down');
      }
    }
    let url = await start({ store: new LockoutDownStore() });
    expect(await postLogin(url, right('victim@example.com'))).toBe(503);
    expect(checks.checked).toBe(0);
    expect(audit.last('store.unavailable')).toMatchObject({ reason: 'fail_closed', details: { endpoints: 'auth' } });
    await app.close();
    url = await start({ store: new LockoutDownStore(), onStoreFailure: { auth: 'open' } });
    expect(await postLogin(url, wrong('victim@example.com'))).toBe(401);
    expect(await postLogin(url, right('victim@example.com'))).toBe(200);
    expect(audit.last('store.unavailable')).toMatchObject({ reason: 'fail_open' });
  });

  it('13.2: the begin() contract: a refused attempt cannot succeed, an attempt settles once, `lockout: false` allows all', async () => {
    await start({ lockout: { threshold: 2, window: 60, duration: 60 } });
    const lockout = app.get(AccountLockoutService);
    const first = await lockout.begin('a@example.com');
    await first.fail();
    await first.fail(); // settles once: counted once
    expect((await lockout.begin('a@example.com')).allowed).toBe(true); // the second of two
    const refused = await lockout.begin('a@example.com'); // both attempts of the window are in use
    expect(refused.allowed).toBe(false);
    await refused.fail(); // a no-op: nothing was reserved
    await expect(refused.succeed()).rejects.toThrow(/refused/);
    await app.close();
    await start({ lockout: false });
    const free = app.get(AccountLockoutService);
    for (let i = 0; i < 10; i++) await (await free.begin('a@example.com')).fail();
    expect((await free.begin('a@example.com')).allowed).toBe(true);
  });
});

const redisUrl = requireRedisUrl();

/** Two instances (Express and Fastify) share one Redis: the lockout step is one Lua script. */
describe.skipIf(!redisUrl)('13.2: lockout against parallel logins across two instances (Redis)', () => {
  let admin: Redis;
  let prefix: string;
  const apps: INestApplication[] = [];

  beforeAll(() => {
    admin = new Redis(redisUrl!);
  });
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    const keys = await admin.keys(`${prefix}*`);
    if (keys.length) await admin.del(...keys);
  });
  afterAll(() => admin?.disconnect());

  async function twoInstances() {
    prefix = `zt-test-${randomBytes(6).toString('hex')}:`;
    const options = { store: redisUrl, storeKeyPrefix: prefix, throttle: OPEN_LIMITS, lockout: LOCKOUT };
    const one = await createThrottleApp('express', options, true);
    const two = await createThrottleApp('fastify', options, true);
    apps.push(one.app, two.app);
    return { urls: [baseUrl(one.app), baseUrl(two.app)], checks: [one.checks, two.checks], audits: [one.audit, two.audit] };
  }
  const locksIn = (audits: CaptureAuditSink[]) => audits.flatMap((audit) => audit.events.filter((e) => e.type === 'auth.lockout'));

  it('13.2: of 40 parallel logins over two instances only `threshold` passwords are checked; the right one at position 30 is refused', async () => {
    const { urls, checks, audits } = await twoInstances();
    const statuses = await heldBurst(urls, checks, burstOf40('victim@example.com'));
    expect(statuses).toEqual(Array(40).fill(401));
    expect(checks[0].checked + checks[1].checked).toBe(LOCKOUT.threshold);
    expect(locksIn(audits)).toHaveLength(1);
    for (const url of urls) expect(await postLogin(url, right('victim@example.com'))).toBe(401);
  });

  it('13.2: a simultaneous burst of 40 over two instances checks at most `threshold` and locks once, at the first level', async () => {
    const { urls, checks, audits } = await twoInstances();
    const statuses = await Promise.all(Array.from({ length: 40 }, (_, i) => postLogin(urls[i % 2], wrong('victim@example.com'))));
    expect(statuses).toEqual(Array(40).fill(401));
    expect(checks[0].checked + checks[1].checked).toBeLessThanOrEqual(LOCKOUT.threshold);
    const locks = locksIn(audits);
    expect(locks).toHaveLength(1);
    expect(locks[0]).toMatchObject({ details: { level: 1, lockSeconds: LOCKOUT.duration } });
    // The lock in Redis lasts `duration`, not the maximum; the level counts one lock event.
    const lockKeys = await admin.keys(`${prefix}lockout:lock:*`);
    expect(lockKeys).toHaveLength(1);
    expect(await admin.pttl(lockKeys[0])).toBeGreaterThan((LOCKOUT.duration - 5) * 1000);
    expect(await admin.pttl(lockKeys[0])).toBeLessThanOrEqual(LOCKOUT.duration * 1000);
    const levelKeys = await admin.keys(`${prefix}lockout:level:*`);
    expect(await admin.get(levelKeys[0])).toBe('1');
  });

  it('13.2: the older isLocked/recordFailure pattern no longer escalates per parallel failure (Redis)', async () => {
    const { urls, audits } = await twoInstances();
    await Promise.all(Array.from({ length: 40 }, (_, i) => postLogin(urls[i % 2], wrong('victim@example.com'), {}, '/auth/legacy-login')));
    const locks = locksIn(audits);
    expect(locks).toHaveLength(1);
    expect(locks[0]).toMatchObject({ details: { level: 1, lockSeconds: LOCKOUT.duration } });
  });
});

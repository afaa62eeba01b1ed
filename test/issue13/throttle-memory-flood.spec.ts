/**
 * Issue 13, item 6: the in-memory store could be flushed. Past `maxKeys` it dropped the oldest entry,
 * active locks included: 72 000 cheap requests from 18 000 addresses unlocked a locked account. Locks and
 * escalation levels (and rate-limit blocks) are now kept apart and never evicted before they expire; only
 * counters are evicted, and when nothing evictable is left a write fails (onStoreFailure decides) instead
 * of dropping a lock.
 */
import type { INestApplication } from '@nestjs/common';
import { ManualClock, MemoryStore } from 'nestjs-zero-trust';
import { afterEach, describe, expect, it } from 'vitest';
import { PLATFORMS } from '../support/test-app.js';
import { baseUrl, postLogin } from '../throttle/burst.js';
import { createThrottleApp, RIGHT_PASSWORD } from '../throttle/throttle-app.js';

const LOCKOUT = { threshold: 5, window: 600, duration: 900, maxDuration: 86_400 };
const MAX_KEYS = 64;

describe.each(PLATFORMS)('13.6: the in-memory store under a key flood (%s)', (platform) => {
  let app: INestApplication;
  afterEach(() => app?.close());

  it('13.6: a flood of distinct keys from many addresses does not evict an active lock or the level of a locked account', async () => {
    const clock = new ManualClock();
    const store = new MemoryStore({ maxKeys: MAX_KEYS, clock });
    const started = await createThrottleApp(
      platform,
      { clock, store, trustProxy: ['127.0.0.1', '::1'], throttle: { auth: { limit: 10_000, window: 60 } }, lockout: LOCKOUT },
      true,
    );
    app = started.app;
    const url = baseUrl(app);
    const victim = { email: 'victim@example.com', password: 'guess' };
    const legacy = '/auth/legacy-login';
    for (let i = 0; i < LOCKOUT.threshold; i++) expect(await postLogin(url, victim, { 'X-Forwarded-For': `198.51.100.${i}` }, legacy)).toBe(401);
    expect(started.audit.last('auth.lockout')).toMatchObject({ details: { level: 1 } });

    // 1 000 cheap requests, each a new address and a new account: three new keys each, 47 times maxKeys.
    for (let batch = 0; batch < 20; batch++) {
      await Promise.all(
        Array.from({ length: 50 }, (_, i) => {
          const n = batch * 50 + i;
          return postLogin(url, { email: `flood${n}@example.com`, password: 'x' }, { 'X-Forwarded-For': `10.0.${batch}.${i + 1}` }, legacy);
        }),
      );
    }
    // The lock held: the right password is still refused, by either login pattern.
    expect(await postLogin(url, { ...victim, password: RIGHT_PASSWORD }, { 'X-Forwarded-For': '203.0.113.9' }, legacy)).toBe(401);
    expect(await postLogin(url, { ...victim, password: RIGHT_PASSWORD }, { 'X-Forwarded-For': '203.0.113.9' })).toBe(401);
    expect(started.checks.refused).toBe(2);
    expect(store.size).toBeLessThanOrEqual(MAX_KEYS);

    // And the level held: after the lock, the next one is the second, twice as long.
    clock.advance(LOCKOUT.duration * 1000 + 1);
    for (let i = 0; i < LOCKOUT.threshold; i++) await postLogin(url, victim, { 'X-Forwarded-For': `198.51.100.${20 + i}` });
    expect(started.audit.last('auth.lockout')).toMatchObject({ details: { level: 2, lockSeconds: 2 * LOCKOUT.duration } });
  });
});

describe('13.6: MemoryStore bounds', () => {
  it('13.6: evicts counters, never a lock, and fails a write rather than drop one when only locks are left', async () => {
    const clock = new ManualClock();
    const store = new MemoryStore({ maxKeys: 4, clock });
    await store.set('lock:a', 60_000);
    await store.set('lock:b', 60_000);
    for (let i = 0; i < 100; i++) await store.increment(`counter:${i}`, 60_000);
    expect(store.size).toBe(4);
    expect(await store.ttl('lock:a')).toBe(60_000);
    expect(await store.ttl('lock:b')).toBe(60_000);
    await store.set('lock:c', 60_000);
    await store.set('lock:d', 60_000);
    await expect(store.increment('counter:x', 60_000)).rejects.toMatchObject({ name: 'MemoryStoreFullError' });
    await expect(store.throttle('t', 60_000, 10, 0)).rejects.toMatchObject({ name: 'MemoryStoreFullError' });
    await expect(store.set('lock:e', 60_000)).rejects.toThrow(/maxKeys/);
    for (const key of ['lock:a', 'lock:b', 'lock:c', 'lock:d']) expect(await store.ttl(key)).toBe(60_000);
    // Expired locks make room again.
    clock.advance(60_001);
    expect(await store.increment('counter:x', 60_000)).toBe(1);
    await store.close();
  });

  it('13.6: a lockout attempt counter is evictable; its lock, its level and a rate-limit block are not', async () => {
    const clock = new ManualClock();
    const store = new MemoryStore({ maxKeys: 8, clock });
    const keys = { attempts: 'lockout:attempts:v', lock: 'lockout:lock:v', level: 'lockout:level:v' };
    const policy = { threshold: 2, windowMs: 60_000, lockMs: 30_000, maxLockMs: 120_000, levelMs: 86_400_000 };
    for (let i = 0; i < 2; i++) {
      expect(await store.beginAttempt(keys, policy)).toBe(true);
      await store.failAttempt(keys, policy);
    }
    // A rate-limit block (an address's, or an account's code guesses) is a lock on its bucket, kept too.
    await store.throttle('guesses:v', 60_000, 1, 0);
    expect((await store.throttle('guesses:v', 60_000, 1, 0)).isBlocked).toBe(true);
    for (let i = 0; i < 1000; i++) await store.throttle(`flood:${i}`, 60_000, 10, 0);
    expect(store.size).toBeLessThanOrEqual(8);
    expect((await store.throttle('guesses:v', 60_000, 1, 0)).isBlocked).toBe(true);
    expect(await store.beginAttempt(keys, policy)).toBe(false);
    expect(await store.ttl(keys.lock)).toBe(30_000);
    expect(await store.ttl(keys.level)).toBe(86_400_000);
    await store.close();
  });
});

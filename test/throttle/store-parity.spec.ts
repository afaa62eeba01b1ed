/**
 * The store port's atomic steps behave the same in memory and on Redis: the lockout's check-and-count,
 * the single lock per threshold of failures, and the throttle's block that replaces its window.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../lib/store/memory.store.js';
import { RedisStore } from '../../lib/store/redis.store.js';
import type { AttemptKeys, AttemptPolicy, ZeroTrustStore } from '../../lib/store/zero-trust-store.js';
import { requireRedisUrl } from '../support/services.js';

const redisUrl = requireRedisUrl();
const KEYS: AttemptKeys = { attempts: 'lockout:attempts:v', lock: 'lockout:lock:v', level: 'lockout:level:v' };
const POLICY: AttemptPolicy = { threshold: 3, windowMs: 60_000, lockMs: 10_000, maxLockMs: 25_000, levelMs: 86_400_000 };

const stores: [string, () => Promise<{ store: ZeroTrustStore; cleanup: () => Promise<void> }>][] = [
  ['memory', async () => {
    const store = new MemoryStore();
    return { store, cleanup: () => store.close() };
  }],
];
if (redisUrl) {
  stores.push(['Redis', async () => {
    const prefix = `zt-test-${randomBytes(6).toString('hex')}:`;
    const store = new RedisStore(new Redis(redisUrl), prefix, true);
    await store.ready();
    const admin = new Redis(redisUrl);
    return {
      store,
      cleanup: async () => {
        const keys = await admin.keys(`${prefix}*`);
        if (keys.length) await admin.del(...keys);
        admin.disconnect();
        await store.close();
      },
    };
  }]);
}

describe.each(stores)('store port, atomic steps (%s)', (_name, open) => {
  let store: ZeroTrustStore;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ store, cleanup } = await open()));
  afterEach(() => cleanup());
  afterAll(() => undefined);

  it('hands out exactly `threshold` attempts to 50 parallel callers', async () => {
    const granted = await Promise.all(Array.from({ length: 50 }, () => store.beginAttempt(KEYS, POLICY)));
    expect(granted.filter(Boolean)).toHaveLength(POLICY.threshold);
  });

  it('locks once for 50 parallel failures, at level 1, and refuses while locked', async () => {
    const results = await Promise.all(Array.from({ length: 50 }, () => store.failAttempt(KEYS, POLICY)));
    expect(results.filter((r) => r.lockMs > 0)).toEqual([{ lockMs: POLICY.lockMs, level: 1 }]);
    expect(await store.beginAttempt(KEYS, POLICY)).toBe(false);
    expect(await store.ttl(KEYS.lock)).toBeGreaterThan(POLICY.lockMs - 1000);
  });

  it('doubles the lock per lock event, capped at maxLockMs', async () => {
    const locks: number[] = [];
    for (let round = 0; round < 3; round++) {
      await store.delete(KEYS.lock);
      for (let i = 0; i < POLICY.threshold; i++) {
        const { lockMs } = await store.failAttempt(KEYS, POLICY);
        if (lockMs) locks.push(lockMs);
      }
    }
    expect(locks).toEqual([10_000, 20_000, 25_000]);
  });

  it('counts a failure as an attempt, and a cleared window starts again', async () => {
    await store.failAttempt(KEYS, POLICY);
    await store.failAttempt(KEYS, POLICY);
    expect(await store.beginAttempt(KEYS, POLICY)).toBe(true);
    expect(await store.beginAttempt(KEYS, POLICY)).toBe(false);
    await store.delete(KEYS.attempts);
    expect(await store.beginAttempt(KEYS, POLICY)).toBe(true);
  });

  it('throttles with a block that replaces the window', async () => {
    expect((await store.throttle('t', 60_000, 1, 0)).isBlocked).toBe(false);
    const refused = await store.throttle('t', 60_000, 1, 0);
    expect(refused).toMatchObject({ isBlocked: true });
    expect(refused.timeToBlockExpire).toBeGreaterThanOrEqual(59);
    expect(refused.timeToBlockExpire).toBeLessThanOrEqual(60);
    const short = await store.throttle('s', 60_000, 1, 0);
    expect(short.isBlocked).toBe(false);
    const blocked = await store.throttle('s', 60_000, 1, 2_000);
    expect(blocked).toMatchObject({ isBlocked: true, timeToBlockExpire: 2 });
    // The hits went with the block: once it ends the client has its whole limit again.
    await store.delete('s:block');
    expect((await store.throttle('s', 60_000, 1, 2_000)).isBlocked).toBe(false);
  });
});

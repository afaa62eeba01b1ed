/**
 * Single-use proofs (a DPoP proof's jti, a service token's jti, a proof-of-work solution) are marked in
 * the store. The mark is security state: a flood of cheap requests that fills the memory store must not
 * evict it, or the proof could be replayed. Counters (`increment`) may be evicted by design, so the marks
 * are `claim()` flags.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../lib/store/memory.store.js';
import { RedisStore } from '../../lib/store/redis.store.js';
import { requireRedisUrl } from '../support/services.js';

const redisUrl = requireRedisUrl();

describe('single-use claims', () => {
  it('a counter is evicted by a flood, which is why a single-use mark must not be one', async () => {
    const store = new MemoryStore({ maxKeys: 8 });
    expect(await store.increment('proof', 60_000)).toBe(1);
    for (let i = 0; i < 20; i++) await store.increment(`flood:${i}`, 60_000);
    // The mark is gone: the same proof counts 1 again.
    expect(await store.increment('proof', 60_000)).toBe(1);
    await store.close();
  });

  it('a claim outlives a flood that fills the memory store, and is refused the second time', async () => {
    const store = new MemoryStore({ maxKeys: 8 });
    expect(await store.claim('proof', 60_000)).toBe(true);
    for (let i = 0; i < 50; i++) await store.increment(`flood:${i}`, 60_000);
    expect(await store.claim('proof', 60_000)).toBe(false);
    await store.close();
  });

  it('of racing claims exactly one wins; the claim ends with its time (memory)', async () => {
    let now = 1_000_000;
    const store = new MemoryStore({ clock: { now: () => now } as never });
    const results = await Promise.all(Array.from({ length: 10 }, () => store.claim('jti', 5_000)));
    expect(results.filter(Boolean)).toHaveLength(1);
    now += 5_001;
    expect(await store.claim('jti', 5_000)).toBe(true);
    await store.close();
  });

  it('a full store of live flags refuses a new claim instead of forgetting an old one', async () => {
    const store = new MemoryStore({ maxKeys: 4 });
    for (let i = 0; i < 4; i++) expect(await store.claim(`p${i}`, 60_000)).toBe(true);
    await expect(store.claim('p4', 60_000)).rejects.toThrow();
    expect(await store.claim('p0', 60_000)).toBe(false);
    await store.close();
  });

  describe('on Redis', () => {
    const prefix = `zt-test-${randomBytes(6).toString('hex')}:`;
    const admin = new Redis(redisUrl!);
    const store = new RedisStore(new Redis(redisUrl!), prefix, true);
    afterAll(async () => {
      const keys = await admin.keys(`${prefix}*`);
      if (keys.length) await admin.del(...keys);
      admin.disconnect();
      await store.close();
    });

    it('of racing claims on two connections exactly one wins, and the mark expires with its time', async () => {
      const other = new RedisStore(new Redis(redisUrl!), prefix, true);
      try {
        const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? other : store).claim('jti', 60_000)));
        expect(results.filter(Boolean)).toHaveLength(1);
        const ttl = await admin.pttl(`${prefix}jti`);
        expect(ttl).toBeGreaterThan(50_000);
        expect(ttl).toBeLessThanOrEqual(60_000);
      } finally {
        await other.close();
      }
    });
  });
});

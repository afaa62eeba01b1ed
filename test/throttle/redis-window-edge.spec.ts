import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisStore } from '../../lib/store/redis.store.js';
import { requireRedisUrl } from '../support/services.js';

const redisUrl = requireRedisUrl();

/**
 * A window whose key Redis has not expired yet but whose PTTL reads 0 (its last millisecond), or a key
 * left without an expiry: the script used to block with `PX 0` / `PX -1`, which Redis refuses ("invalid
 * expire time"), and the refusal read as a store outage (503 on auth routes, unlimited elsewhere).
 */
describe.skipIf(!redisUrl)('the Redis rate-limit script at a window\'s edge', () => {
  const prefix = `zt-test-${randomBytes(6).toString('hex')}:`;
  const client = new Redis(redisUrl!);
  const store = new RedisStore(client, prefix, false);

  afterAll(async () => {
    const keys = await client.keys(`${prefix}*`);
    if (keys.length) await client.del(...keys);
    await store.close();
    client.disconnect();
  });

  it('starts a new window instead of failing when the counter has no expiry left', async () => {
    await client.set(`${prefix}edge:hits`, '100');
    const result = await store.throttle('edge', 60_000, 10, 0);
    expect(result).toMatchObject({ totalHits: 1, isBlocked: false });
    expect(await client.pttl(`${prefix}edge:hits`)).toBeGreaterThan(59_000);
  });

  it('still blocks past the limit within a window, for the rest of it', async () => {
    for (let i = 0; i < 3; i++) await store.throttle('limit', 60_000, 3, 0);
    const over = await store.throttle('limit', 60_000, 3, 0);
    expect(over.isBlocked).toBe(true);
    expect(over.timeToBlockExpire).toBeGreaterThan(0);
  });
});

import type { Redis, RedisOptions } from 'ioredis';
import type { AttemptFailure, AttemptKeys, AttemptPolicy, ThrottleResult, ZeroTrustStore } from './zero-trust-store.port.js';

/**
 * Counting, blocking and expiry in one script: one round trip per request, atomic across instances. The
 * block replaces the window (the hits are dropped), so when it ends the client starts a new one.
 */
const THROTTLE_SCRIPT = `
local blocked = redis.call('PTTL', KEYS[2])
if blocked > 0 then return {tonumber(ARGV[2]) + 1, blocked, 1, blocked} end
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if count == 1 or ttl < 1 then
  -- A new window; also one ending this very millisecond (PTTL 0) or left without an expiry: never
  -- 'PX 0' ("invalid expire time", which would read as a store outage), never a window without end.
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
  count = 1
  ttl = tonumber(ARGV[1])
end
if count > tonumber(ARGV[2]) then
  local block = tonumber(ARGV[3])
  if block <= 0 then block = ttl end
  redis.call('SET', KEYS[2], '1', 'PX', block)
  redis.call('DEL', KEYS[1])
  return {count, block, 1, block}
end
return {count, ttl, 0, 0}`;

const INCREMENT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return count`;

/**
 * The lockout's check-and-count: KEYS attempts (hash: a = attempts, f = failures), lock; ARGV threshold,
 * windowMs. One script, so two instances racing for the last attempt of a window cannot both get it.
 */
const BEGIN_ATTEMPT_SCRIPT = `
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
if tonumber(redis.call('HGET', KEYS[1], 'a') or '0') >= tonumber(ARGV[1]) then return 0 end
redis.call('HINCRBY', KEYS[1], 'a', 1)
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1`;

/**
 * A failure: KEYS attempts, lock, level; ARGV threshold, windowMs, lockMs, maxLockMs, levelMs. Locks
 * once when the failures reach the threshold (not again while locked, so parallel failures raise the
 * level by one) and starts a new window.
 */
const FAIL_ATTEMPT_SCRIPT = `
local failures = redis.call('HINCRBY', KEYS[1], 'f', 1)
if tonumber(redis.call('HGET', KEYS[1], 'a') or '0') < failures then redis.call('HSET', KEYS[1], 'a', failures) end
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if failures < tonumber(ARGV[1]) or redis.call('EXISTS', KEYS[2]) == 1 then return {0, 0} end
local level = redis.call('INCR', KEYS[3])
if level == 1 then redis.call('PEXPIRE', KEYS[3], ARGV[5]) end
local lock = math.floor(math.min(tonumber(ARGV[3]) * 2 ^ (level - 1), tonumber(ARGV[4])))
redis.call('SET', KEYS[2], '1', 'PX', lock)
redis.call('DEL', KEYS[1])
return {lock, level}`;

/**
 * Client settings for a request path: no offline queue and a short command timeout, so an
 * unreachable Redis makes a command fail at once instead of holding the request.
 */
export const REDIS_CLIENT_OPTIONS: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  commandTimeout: 500,
  connectTimeout: 1000,
  retryStrategy: (attempt: number) => Math.min(attempt * 200, 2000),
};

type ScriptedRedis = Redis & {
  ztThrottle(hits: string, block: string, windowMs: number, limit: number, blockMs: number): Promise<[number, number, number, number]>;
  ztIncrement(key: string, windowMs: number): Promise<number>;
  ztBeginAttempt(attempts: string, lock: string, threshold: number, windowMs: number): Promise<number>;
  ztFailAttempt(attempts: string, lock: string, level: string, threshold: number, windowMs: number, lockMs: number, maxLockMs: number, levelMs: number): Promise<[number, number]>;
};

/** State shared by every instance through Redis; all keys live under `prefix`. */
export class RedisStore implements ZeroTrustStore {
  private readonly redis: ScriptedRedis;
  private subscriber?: Redis;

  constructor(
    redis: Redis,
    private readonly prefix: string,
    private readonly ownsClient: boolean,
  ) {
    // Connection errors surface on each command, where StoreFailurePolicy decides and reports; without
    // a listener ioredis would also print every reconnect attempt as an unhandled error.
    if (ownsClient) redis.on('error', () => undefined);
    redis.defineCommand('ztThrottle', { numberOfKeys: 2, lua: THROTTLE_SCRIPT });
    redis.defineCommand('ztIncrement', { numberOfKeys: 1, lua: INCREMENT_SCRIPT });
    redis.defineCommand('ztBeginAttempt', { numberOfKeys: 2, lua: BEGIN_ATTEMPT_SCRIPT });
    redis.defineCommand('ztFailAttempt', { numberOfKeys: 3, lua: FAIL_ATTEMPT_SCRIPT });
    this.redis = redis as ScriptedRedis;
  }

  /** Waits (bounded) for the first connection so the first requests do not fail for nothing. */
  async ready(timeoutMs = 2000): Promise<boolean> {
    if (this.redis.status === 'ready') return true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(false), timeoutMs);
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.redis.off('ready', onReady);
        resolve(ok);
      };
      const onReady = () => done(true);
      this.redis.on('ready', onReady);
    });
  }

  async throttle(key: string, windowMs: number, limit: number, blockMs: number): Promise<ThrottleResult> {
    const [totalHits, ttl, blocked, blockTtl] = await this.redis.ztThrottle(`${this.prefix}${key}:hits`, `${this.prefix}${key}:block`, windowMs, limit, blockMs);
    return { totalHits, timeToExpire: Math.max(0, Math.ceil(ttl / 1000)), isBlocked: blocked === 1, timeToBlockExpire: blocked === 1 ? Math.max(1, Math.ceil(blockTtl / 1000)) : 0 };
  }

  increment(key: string, windowMs: number): Promise<number> {
    return this.redis.ztIncrement(`${this.prefix}${key}`, windowMs);
  }

  async beginAttempt(keys: AttemptKeys, policy: AttemptPolicy): Promise<boolean> {
    return (await this.redis.ztBeginAttempt(`${this.prefix}${keys.attempts}`, `${this.prefix}${keys.lock}`, policy.threshold, policy.windowMs)) === 1;
  }

  async failAttempt(keys: AttemptKeys, policy: AttemptPolicy): Promise<AttemptFailure> {
    const { prefix } = this;
    const [lockMs, level] = await this.redis.ztFailAttempt(
      `${prefix}${keys.attempts}`,
      `${prefix}${keys.lock}`,
      `${prefix}${keys.level}`,
      policy.threshold,
      policy.windowMs,
      policy.lockMs,
      policy.maxLockMs,
      policy.levelMs,
    );
    return { lockMs, level };
  }

  async ttl(key: string): Promise<number> {
    return Math.max(0, await this.redis.pttl(`${this.prefix}${key}`));
  }

  async set(key: string, ttlMs: number): Promise<void> {
    await this.redis.set(`${this.prefix}${key}`, '1', 'PX', Math.max(1, Math.ceil(ttlMs)));
  }

  async claim(key: string, ttlMs: number): Promise<boolean> {
    // SET NX: one command, so two instances racing with one proof see one winner.
    return (await this.redis.set(`${this.prefix}${key}`, '1', 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX')) === 'OK';
  }

  async delete(...keys: string[]): Promise<void> {
    if (keys.length) await this.redis.del(...keys.map((key) => `${this.prefix}${key}`));
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.redis.publish(`${this.prefix}${channel}`, message);
  }

  /** Subscribing needs a connection of its own (a subscribed client can do nothing else). */
  async subscribe(channel: string, listener: (message: string) => void): Promise<void> {
    if (!this.subscriber) {
      // A subscriber may queue and wait while (re)connecting: it carries no request. Its SUBSCRIBE waits for
      // the first connection (Redis down at boot), and ioredis renews it after every reconnect.
      this.subscriber = this.redis.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null, autoResubscribe: true });
      this.subscriber.on('error', () => undefined);
    }
    const name = `${this.prefix}${channel}`;
    this.subscriber.on('message', (received: string, message: string) => {
      if (received === name) listener(message);
    });
    await this.subscriber.subscribe(name);
  }

  async close(): Promise<void> {
    this.subscriber?.disconnect();
    if (this.ownsClient) this.redis.disconnect();
  }
}

import { Clock, SystemClock } from '../core/clock.js';

/** The result of one throttled hit, in @nestjs/throttler's terms (times in seconds). */
export interface ThrottleResult {
  totalHits: number;
  timeToExpire: number;
  isBlocked: boolean;
  timeToBlockExpire: number;
}

/**
 * The store port: shared state for throttling, lockout and revocation broadcasts. In memory by default; Redis for several instances. Each
 * operation is one round trip, and an implementation must fail fast (never hang a request).
 */
export interface ZeroTrustStore {
  /** Fixed-window counter with a block once `limit` is passed; the window starts at the first hit. */
  throttle(key: string, windowMs: number, limit: number, blockMs: number): Promise<ThrottleResult>;
  /** Increments a counter that expires `windowMs` after its first increment; returns the new count. */
  increment(key: string, windowMs: number): Promise<number>;
  /** Milliseconds a key has left to live, or 0 when it does not exist. */
  ttl(key: string): Promise<number>;
  set(key: string, ttlMs: number): Promise<void>;
  delete(...keys: string[]): Promise<void>;
  close(): Promise<void>;
  /**
   * The revocation bus: broadcast to every instance sharing the store. A single-process store has none;
   * instances then learn of another's revocations within `sessions.revocationCacheTtl`.
   */
  publish?(channel: string, message: string): Promise<void>;
  subscribe?(channel: string, listener: (message: string) => void): Promise<void>;
}

/** One process only. Bounded: expired keys are swept, and past `maxKeys` the oldest are dropped. */
export class MemoryStore implements ZeroTrustStore {
  private readonly entries = new Map<string, { count: number; expiresAt: number }>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly clock: () => number;

  constructor(options: { maxKeys?: number; clock?: Clock } = {}) {
    const clock = options.clock ?? new SystemClock();
    this.clock = () => clock.now();
    this.maxKeys = options.maxKeys ?? 100_000;
    this.sweeper = setInterval(() => this.sweep(), 10_000);
    this.sweeper.unref();
  }

  async throttle(key: string, windowMs: number, limit: number, blockMs: number): Promise<ThrottleResult> {
    const now = this.clock();
    const block = this.live(`${key}:block`, now);
    const hits = this.live(`${key}:hits`, now);
    if (block) {
      return { totalHits: hits?.count ?? limit + 1, timeToExpire: seconds((hits?.expiresAt ?? now) - now), isBlocked: true, timeToBlockExpire: seconds(block.expiresAt - now) };
    }
    const count = this.bump(`${key}:hits`, windowMs, now);
    const expiresAt = this.entries.get(`${key}:hits`)!.expiresAt;
    if (count > limit) {
      const until = now + (blockMs > 0 ? blockMs : expiresAt - now);
      this.put(`${key}:block`, 1, until);
      return { totalHits: count, timeToExpire: seconds(expiresAt - now), isBlocked: true, timeToBlockExpire: seconds(until - now) };
    }
    return { totalHits: count, timeToExpire: seconds(expiresAt - now), isBlocked: false, timeToBlockExpire: 0 };
  }

  async increment(key: string, windowMs: number): Promise<number> {
    return this.bump(key, windowMs, this.clock());
  }

  async ttl(key: string): Promise<number> {
    const now = this.clock();
    const entry = this.live(key, now);
    return entry ? entry.expiresAt - now : 0;
  }

  async set(key: string, ttlMs: number): Promise<void> {
    this.put(key, 1, this.clock() + ttlMs);
  }

  async delete(...keys: string[]): Promise<void> {
    for (const key of keys) this.entries.delete(key);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
  }

  private readonly maxKeys: number;

  private bump(key: string, windowMs: number, now: number): number {
    const entry = this.live(key, now);
    if (entry) return ++entry.count;
    this.put(key, 1, now + windowMs);
    return 1;
  }

  private live(key: string, now: number) {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  private put(key: string, count: number, expiresAt: number): void {
    this.entries.delete(key);
    if (this.entries.size >= this.maxKeys) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, { count, expiresAt });
  }

  private sweep(): void {
    const now = this.clock();
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
  }
}

const seconds = (ms: number) => Math.max(0, Math.ceil(ms / 1000));

import { Clock, SystemClock } from '../core/clock.js';
import { MemoryStoreFullError } from './memory-store-full.error.js';
import type { AttemptFailure, AttemptKeys, AttemptPolicy, ThrottleResult, ZeroTrustStore } from './zero-trust-store.port.js';

/** One shape for every entry (one hidden class, the smallest footprint). */
interface Entry {
  count: number;
  /** Failures of a lockout window; 0 for every other entry. */
  failures: number;
  expiresAt: number;
}

const NO_LOCK: AttemptFailure = Object.freeze({ lockMs: 0, level: 0 });

/**
 * One process only. Every method runs synchronously to its end (no `await` inside), so each is atomic
 * against every other request of the process.
 *
 * Bounded at `maxKeys` entries, flags and counters together (default 100 000: about 25 MB, ~250 bytes an
 * entry with the module's key lengths, measured on Node 20). A flood of distinct keys cannot flush security
 * state: flags (locks, escalation levels, rate-limit blocks, `set()`) are kept apart and never evicted before they expire;
 * only counters are, oldest first, so a flood can only evict other counters. When every entry is a live
 * flag a write fails with `MemoryStoreFullError` (the store's failure policy decides: auth routes fail
 * closed by default), never by dropping a lock. Expired entries are swept every 10 s.
 */
export class MemoryStore implements ZeroTrustStore {
  /** Counters (rate-limit hits, `increment()`), in insertion order: the eviction order. */
  private readonly counters = new Map<string, Entry>();
  /**
   * Login-attempt counters of accounts: evicted only when no plain counter is left, so a flood of cheap
   * requests (each a rate-limit counter) cannot reset an account's count between two series of guesses.
   */
  private readonly attempts = new Map<string, Entry>();
  /** Flags that must outlive any flood: locks, escalation levels, rate-limit blocks, `set()`. */
  private readonly flags = new Map<string, Entry>();
  private readonly maxKeys: number;
  private readonly sweeper: NodeJS.Timeout;
  private readonly clock: () => number;
  private lastFullSweep = Number.NEGATIVE_INFINITY;

  constructor(options: { maxKeys?: number; clock?: Clock } = {}) {
    const clock = options.clock ?? new SystemClock();
    this.clock = () => clock.now();
    this.maxKeys = options.maxKeys ?? 100_000;
    if (!Number.isInteger(this.maxKeys) || this.maxKeys < 1) throw new RangeError(`MemoryStore maxKeys must be a whole number >= 1 (got ${options.maxKeys}).`);
    this.sweeper = setInterval(() => this.sweep(), 10_000);
    this.sweeper.unref();
  }

  /** Entries held now (expired ones included until swept or read). */
  get size(): number {
    return this.counters.size + this.attempts.size + this.flags.size;
  }

  async throttle(key: string, windowMs: number, limit: number, blockMs: number): Promise<ThrottleResult> {
    const now = this.clock();
    const block = this.live(`${key}:block`, now);
    if (block) return blocked(limit + 1, block.expiresAt - now);
    const hits = this.bump(`${key}:hits`, windowMs, now);
    if (hits.count > limit) {
      const until = now + (blockMs > 0 ? blockMs : hits.expiresAt - now);
      // A block is a lock on its bucket (an address, or an account's code guesses): a flag, like a lockout.
      this.put(this.flags, `${key}:block`, 1, until, now);
      // The block replaces the window: when it ends the client starts a new one (as @nestjs/throttler does).
      this.counters.delete(`${key}:hits`);
      return blocked(hits.count, until - now);
    }
    return { totalHits: hits.count, timeToExpire: seconds(hits.expiresAt - now), isBlocked: false, timeToBlockExpire: 0 };
  }

  async increment(key: string, windowMs: number): Promise<number> {
    return this.bump(key, windowMs, this.clock()).count;
  }

  async ttl(key: string): Promise<number> {
    const now = this.clock();
    const entry = this.live(key, now);
    return entry ? entry.expiresAt - now : 0;
  }

  async set(key: string, ttlMs: number): Promise<void> {
    const now = this.clock();
    this.put(this.flags, key, 1, now + ttlMs, now);
  }

  async claim(key: string, ttlMs: number): Promise<boolean> {
    const now = this.clock();
    if (this.live(key, now)) return false;
    this.put(this.flags, key, 1, now + ttlMs, now);
    return true;
  }

  async delete(...keys: string[]): Promise<void> {
    for (const key of keys) {
      this.counters.delete(key);
      this.attempts.delete(key);
      this.flags.delete(key);
    }
  }

  async beginAttempt(keys: AttemptKeys, policy: AttemptPolicy): Promise<boolean> {
    const now = this.clock();
    if (this.live(keys.lock, now)) return false;
    const attempts = this.live(keys.attempts, now);
    if (attempts && attempts.count >= policy.threshold) return false;
    if (attempts) attempts.count++;
    else this.put(this.attempts, keys.attempts, 1, now + policy.windowMs, now);
    return true;
  }

  async failAttempt(keys: AttemptKeys, policy: AttemptPolicy): Promise<AttemptFailure> {
    const now = this.clock();
    // A reservation that outlived its window counts in a new one.
    const attempts = this.live(keys.attempts, now) ?? this.put(this.attempts, keys.attempts, 0, now + policy.windowMs, now);
    attempts.failures++;
    attempts.count = Math.max(attempts.count, attempts.failures);
    if (attempts.failures < policy.threshold || this.live(keys.lock, now)) return NO_LOCK;
    const level = this.live(keys.level, now);
    // Room for the new flags first, so a full store fails before it changes anything.
    this.makeRoom((level ? 0 : 1) + 1, now);
    const reached = level ? ++level.count : this.put(this.flags, keys.level, 1, now + policy.levelMs, now).count;
    const lockMs = Math.min(policy.lockMs * 2 ** (reached - 1), policy.maxLockMs);
    this.put(this.flags, keys.lock, 1, now + lockMs, now);
    this.attempts.delete(keys.attempts);
    return { lockMs, level: reached };
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
  }

  private bump(key: string, windowMs: number, now: number): Entry {
    const entry = this.live(key, now);
    if (entry) {
      entry.count++;
      return entry;
    }
    return this.put(this.counters, key, 1, now + windowMs, now);
  }

  private live(key: string, now: number): Entry | undefined {
    const map = this.flags.has(key) ? this.flags : this.attempts.has(key) ? this.attempts : this.counters;
    const entry = map.get(key);
    if (entry && entry.expiresAt <= now) {
      map.delete(key);
      return undefined;
    }
    return entry;
  }

  private put(map: Map<string, Entry>, key: string, count: number, expiresAt: number, now: number): Entry {
    this.counters.delete(key);
    this.attempts.delete(key);
    this.flags.delete(key);
    this.makeRoom(1, now);
    const entry: Entry = { count, failures: 0, expiresAt };
    map.set(key, entry);
    return entry;
  }

  /** Frees `needed` places by evicting the oldest counters; flags are never evicted, only expired. */
  private makeRoom(needed: number, now: number): void {
    while (this.size + needed > this.maxKeys) {
      const oldest = this.counters.keys().next();
      if (!oldest.done) {
        this.counters.delete(oldest.value);
        continue;
      }
      const oldestAttempt = this.attempts.keys().next();
      if (!oldestAttempt.done) {
        this.attempts.delete(oldestAttempt.value);
        continue;
      }
      // Only flags left: drop the expired ones (a full pass, so at most once a second), else refuse.
      if (now - this.lastFullSweep < 1000) throw new MemoryStoreFullError(this.maxKeys);
      this.lastFullSweep = now;
      this.sweep(now);
    }
  }

  private sweep(now = this.clock()): void {
    for (const map of [this.counters, this.attempts, this.flags]) for (const [key, entry] of map) if (entry.expiresAt <= now) map.delete(key);
  }
}

const seconds = (ms: number) => Math.max(0, Math.ceil(ms / 1000));
const blocked = (totalHits: number, blockMs: number): ThrottleResult => ({
  totalHits,
  timeToExpire: seconds(blockMs),
  isBlocked: true,
  timeToBlockExpire: Math.max(1, seconds(blockMs)),
});

/** The result of one throttled hit, in @nestjs/throttler's terms (times in seconds). */
export interface ThrottleResult {
  totalHits: number;
  timeToExpire: number;
  isBlocked: boolean;
  timeToBlockExpire: number;
}

/** The store keys of one account's login attempts (`beginAttempt`, `failAttempt`). */
export interface AttemptKeys {
  /** The attempts and failures of the current window: a counter, evictable like any counter. */
  readonly attempts: string;
  /** Present while the account is locked: a flag, never evicted before it expires. */
  readonly lock: string;
  /** How many locks so far (the escalation level): a flag, never evicted before it expires. */
  readonly level: string;
}

/** The lockout rule the store applies in its atomic steps (times in milliseconds). */
export interface AttemptPolicy {
  /** Attempts per window, counting the ones still in flight, and the failures that lock. */
  readonly threshold: number;
  /** The window the attempts count in, from the first one. */
  readonly windowMs: number;
  /** The first lock; each further lock while the level lives doubles it. */
  readonly lockMs: number;
  readonly maxLockMs: number;
  /** How long the level lives after the first lock. */
  readonly levelMs: number;
}

/** What one failure did: the lock it set (0 when it set none) and the level that lock is at. */
export interface AttemptFailure {
  readonly lockMs: number;
  readonly level: number;
}

/**
 * The store port: shared state for throttling, lockout and revocation broadcasts. In memory by default;
 * Redis for several instances. Each operation is one round trip and atomic (two instances calling it at
 * once see one order), and an implementation must fail fast (never hang a request).
 *
 * Flags (`set`, a `throttle` block, the lock and level of `AttemptKeys`) are security state: a store must
 * never drop one before its time under memory pressure (Redis: a `maxmemory-policy` of `noeviction`).
 * Counters may be dropped; that gives an attacker's flood a fresh window, never an unlocked account.
 */
export interface ZeroTrustStore {
  /**
   * Fixed-window counter with a block once `limit` is passed; the window starts at the first hit. The
   * block replaces the window: when it ends, the next hit starts a new window.
   */
  throttle(key: string, windowMs: number, limit: number, blockMs: number): Promise<ThrottleResult>;
  /** Increments a counter that expires `windowMs` after its first increment; returns the new count. */
  increment(key: string, windowMs: number): Promise<number>;
  /** Milliseconds a key has left to live, or 0 when it does not exist. */
  ttl(key: string): Promise<number>;
  /** Sets a flag that lives `ttlMs`. */
  set(key: string, ttlMs: number): Promise<void>;
  /**
   * Sets a flag that lives `ttlMs` unless it exists, atomically: true for the one call that set it. The
   * mark of a single-use proof (a DPoP proof's or a service token's `jti`, a proof-of-work solution): a
   * flag, so a flood that evicts counters cannot free a proof for replay.
   */
  claim(key: string, ttlMs: number): Promise<boolean>;
  delete(...keys: string[]): Promise<void>;
  close(): Promise<void>;
  /**
   * One step, atomic with the lock check: unless the account is locked or `threshold` attempts of the
   * window are already counted (finished or in flight), counts one more and returns true.
   */
  beginAttempt(keys: AttemptKeys, policy: AttemptPolicy): Promise<boolean>;
  /**
   * One step: counts a failure (its attempt stays counted) and, when the failures reach `threshold` and
   * the account is not locked already, raises the level, locks for `lockMs * 2^(level-1)` (at most
   * `maxLockMs`) and starts a new window. Parallel failures lock once.
   */
  failAttempt(keys: AttemptKeys, policy: AttemptPolicy): Promise<AttemptFailure>;
  /**
   * The revocation bus: broadcast to every instance sharing the store. A single-process store has none;
   * instances then learn of another's revocations within `sessions.revocationCacheTtl`.
   */
  publish?(channel: string, message: string): Promise<void>;
  subscribe?(channel: string, listener: (message: string) => void): Promise<void>;
}

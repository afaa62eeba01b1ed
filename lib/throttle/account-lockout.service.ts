import { Inject, Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { AuditService } from '../audit/audit.service.js';
import { StoreFailurePolicy } from '../store/store-failure.policy.js';
import { ZERO_TRUST_STORE } from '../store/store.internal-constants.js';
import type { AttemptKeys, AttemptPolicy, ZeroTrustStore } from '../store/zero-trust-store.js';
import type { LoginAttempt } from './login-attempt.interface.js';
import { THROTTLE_CONFIG } from './throttle.internal-constants.js';
import type { ThrottleConfig } from './throttle.options.js';

/** How long the escalation level lives after the first lock. */
const DAY_MS = 24 * 3600 * 1000;

const REFUSED: LoginAttempt = Object.freeze({
  allowed: false,
  fail: async () => undefined,
  succeed: async () => {
    throw new Error('A refused login attempt cannot succeed: check `attempt.allowed` before the password, and answer a refused attempt like a wrong password.');
  },
});

const UNLIMITED: LoginAttempt = Object.freeze({ allowed: true, fail: async () => undefined, succeed: async () => undefined });

const UNKNOWN_ACCOUNT: LoginAttempt = Object.freeze({
  allowed: true,
  fail: async () => undefined,
  succeed: async () => {
    throw new Error('An attempt begun with known: false cannot succeed: the login names no account.');
  },
});

/**
 * Counts failed logins per account, whatever address they come from (a credential-stuffing botnet
 * spreads over many), and locks the account for a while after `threshold` of them. The lock doubles
 * with each lock within a day, up to `maxDuration`. Accounts are keyed by a hash of the normalized name,
 * so the store never holds e-mail addresses.
 *
 * `begin()` is the login step: it reserves an attempt in the same atomic store operation that checks the
 * lock (synchronous code in memory, one Lua script on Redis), so a burst of parallel logins, on one
 * instance or many, has at most `threshold` passwords checked per window; a failure locks once, and the
 * level counts locks, not parallel failures, so a burst from one address imposes one lock of `duration`.
 *
 * While an account is locked the caller must answer exactly as for a wrong password (same status, body
 * and password-hashing work), so the lock reveals nothing. When the store fails, `onStoreFailure.auth`
 * decides: closed (default) answers 503; open lets the attempt through uncounted.
 */
@Injectable()
export class AccountLockoutService {
  /** `undefined` with `lockout: false`. */
  private readonly policy?: AttemptPolicy;

  constructor(
    @Inject(ZERO_TRUST_STORE) private readonly store: ZeroTrustStore,
    private readonly audit: AuditService,
    private readonly failures: StoreFailurePolicy,
    @Inject(THROTTLE_CONFIG) config: ThrottleConfig,
  ) {
    if (config.lockout !== false) {
      const { threshold, window, duration, maxDuration } = config.lockout;
      this.policy = Object.freeze({
        threshold,
        windowMs: Math.round(window * 1000),
        lockMs: Math.round(duration * 1000),
        maxLockMs: Math.round(maxDuration * 1000),
        levelMs: DAY_MS,
      });
    }
  }

  /**
   * Reserves one attempt for the account, atomically with the lock check (memory and Redis). Check the
   * password only when `allowed`, then settle the attempt with `fail()` or `succeed()`. Pass
   * `known: false` when the login names no account (look the account up first, and key the attempt by
   * the account's own login so spellings that reach one account share its count).
   */
  async begin(account: string, options: { known?: boolean } = {}): Promise<LoginAttempt> {
    const policy = this.policy;
    if (!policy) return UNLIMITED;
    // A login that names no account keeps no state: made-up names cannot fill the store with counters
    // and locks (the caller answers exactly as for a wrong password either way).
    if (options.known === false) return UNKNOWN_ACCOUNT;
    const keys = this.keys(account);
    try {
      if (!(await this.store.beginAttempt(keys, policy))) return REFUSED;
    } catch (error) {
      // Closed: throws (503). Open: the attempt goes ahead uncounted; its failure is still recorded if the store is back.
      this.failures.handle(error, 'auth');
    }
    let settled = false;
    const settle = (work: () => Promise<unknown>) => async () => {
      if (settled) return;
      settled = true;
      await work();
    };
    return Object.freeze({
      allowed: true,
      fail: settle(() => this.failed(account, keys, policy)),
      succeed: settle(() => this.clear(keys)),
    });
  }

  /**
   * Whether the account is locked now. With `recordFailure`, a check separate from the count: parallel
   * logins can all pass it. Prefer `begin()`.
   */
  async isLocked(account: string): Promise<boolean> {
    if (!this.policy) return false;
    try {
      return (await this.store.ttl(this.keys(account).lock)) > 0;
    } catch (error) {
      this.failures.handle(error, 'auth');
      return false;
    }
  }

  /** Records a failed login; returns whether it locked the account. A no-op with `lockout: false`. Prefer `begin()`. */
  async recordFailure(account: string): Promise<boolean> {
    return this.policy ? this.failed(account, this.keys(account), this.policy) : false;
  }

  /** A successful login clears the failure count (not the escalation level, so repeat offenders stay slowed). */
  async recordSuccess(account: string): Promise<void> {
    if (this.policy) await this.clear(this.keys(account));
  }

  private async failed(account: string, keys: AttemptKeys, policy: AttemptPolicy): Promise<boolean> {
    const hash = this.hash(account).slice(0, 12);
    // Every failed login is an event of its own (account hashed), for the trail and the anomaly rules.
    this.audit.publish({ type: 'auth.failure', outcome: 'failure', reason: 'bad_credentials', details: { account: hash } });
    try {
      const { lockMs, level } = await this.store.failAttempt(keys, policy);
      if (lockMs === 0) return false;
      this.audit.publish({
        type: 'auth.lockout',
        outcome: 'denied',
        reason: 'too_many_failures',
        details: { account: hash, lockSeconds: lockMs / 1000, level },
      });
      return true;
    } catch (error) {
      this.failures.handle(error, 'auth');
      return false;
    }
  }

  private async clear(keys: AttemptKeys): Promise<void> {
    try {
      await this.store.delete(keys.attempts);
    } catch (error) {
      this.failures.handle(error, 'auth');
    }
  }

  private hash(account: string): string {
    return createHash('sha256').update(account.trim().toLowerCase()).digest('hex');
  }

  private keys(account: string): AttemptKeys {
    const id = this.hash(account).slice(0, 32);
    return { attempts: `lockout:attempts:${id}`, lock: `lockout:lock:${id}`, level: `lockout:level:${id}` };
  }
}

import { Inject, Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { AuditService } from '../audit/audit.service.js';
import { StoreFailurePolicy } from '../store/store-failure.policy.js';
import { ZERO_TRUST_STORE } from '../store/store.internal-constants.js';
import type { ZeroTrustStore } from '../store/zero-trust-store.js';
import { THROTTLE_CONFIG } from './throttle.internal-constants.js';
import type { ThrottleConfig } from './throttle.options.js';

const DAY_MS = 24 * 3600 * 1000;

/**
 * Counts failed logins per account, whatever address they come from (a credential-stuffing botnet
 * spreads over many), and locks the account for a while after `threshold` of them. The lock doubles
 * with each repeat within a day, up to `maxDuration`. Accounts are keyed by a hash of the
 * normalized name, so the store never holds e-mail addresses.
 *
 * While an account is locked the caller must answer exactly as for a wrong password (same status,
 * body and password-hashing work), so the lock reveals nothing.
 */
@Injectable()
export class AccountLockoutService {
  constructor(
    @Inject(ZERO_TRUST_STORE) private readonly store: ZeroTrustStore,
    private readonly audit: AuditService,
    private readonly failures: StoreFailurePolicy,
    @Inject(THROTTLE_CONFIG) private readonly config: ThrottleConfig,
  ) {}

  /** Whether the account is locked now. */
  async isLocked(account: string): Promise<boolean> {
    if (this.config.lockout === false) return false;
    try {
      return (await this.store.ttl(this.key('lock', account))) > 0;
    } catch (error) {
      this.failures.handle(error, 'auth');
      return false;
    }
  }

  /** Records a failed login; returns whether it locked the account. A no-op with `lockout: false`. */
  async recordFailure(account: string): Promise<boolean> {
    if (this.config.lockout === false) return false;
    const options = this.config.lockout;
    // Every failed login is an event of its own (account hashed), for the trail and the anomaly rules.
    this.audit.publish({
      type: 'auth.failure',
      outcome: 'failure',
      reason: 'bad_credentials',
      details: { account: this.hash(account).slice(0, 12) },
    });
    try {
      const failures = await this.store.increment(this.key('failures', account), options.window * 1000);
      if (failures < options.threshold) return false;
      const level = await this.store.increment(this.key('level', account), DAY_MS);
      const durationMs = Math.round(Math.min(options.duration * 2 ** (level - 1), options.maxDuration) * 1000);
      await this.store.set(this.key('lock', account), durationMs);
      await this.store.delete(this.key('failures', account));
      this.audit.publish({
        type: 'auth.lockout',
        outcome: 'denied',
        reason: 'too_many_failures',
          details: { account: this.hash(account).slice(0, 12), lockSeconds: durationMs / 1000, level },
      });
      return true;
    } catch (error) {
      this.failures.handle(error, 'auth');
      return false;
    }
  }

  /** A successful login clears the failure count (not the escalation level, so repeat offenders stay slowed). */
  async recordSuccess(account: string): Promise<void> {
    if (this.config.lockout === false) return;
    try {
      await this.store.delete(this.key('failures', account));
    } catch (error) {
      this.failures.handle(error, 'auth');
    }
  }

  private hash(account: string): string {
    return createHash('sha256').update(account.trim().toLowerCase()).digest('hex');
  }

  private key(kind: string, account: string): string {
    return `lockout:${kind}:${this.hash(account).slice(0, 32)}`;
  }
}

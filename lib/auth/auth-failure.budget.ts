import type { Clock } from '../core/clock.js';
import type { StoreFailurePolicy } from '../store/store-failure.policy.js';
import type { ZeroTrustStore } from '../store/zero-trust-store.js';
import type { AuthFailureLimit } from './auth.options.js';

const MAX_REMEMBERED = 10_000;

/**
 * The per-address budget of failed authentications (issue 13.10: one client wrote 17 769 audit rows in
 * 10 s with bad tokens). Each 401 of an address (an IPv4 address or an IPv6 /64) is counted in the
 * store, in one atomic round trip, so every instance sharing it (Redis) counts together; once the
 * count reaches the limit, the store blocks the address for `block` seconds (or the rest of the window).
 *
 * The check before verification is in memory: an instance remembers a block when a count it made
 * reports one, so a flood costs no store round trip and no cryptography, and successful requests never
 * touch the store for it. Bound: past the limit an instance verifies at most one more failing request
 * of an address (the one whose count reveals the block), so N instances at most N more. Blocks are
 * remembered for at most `MAX_REMEMBERED` addresses (past it the oldest is forgotten and relearned on
 * its next failure).
 */
export class AuthFailureBudget {
  private readonly refused = new Map<string, number>();

  constructor(
    private readonly limit: AuthFailureLimit | false,
    private readonly store: ZeroTrustStore,
    private readonly storeFailures: StoreFailurePolicy,
    private readonly clock: Clock,
  ) {}

  /** Seconds until `bucket` may be verified again; 0 when it may now. No I/O. */
  retryAfter(bucket: string): number {
    const until = this.refused.get(bucket);
    if (until === undefined) return 0;
    const left = until - this.clock.now();
    if (left > 0) return Math.ceil(left / 1000);
    this.refused.delete(bucket);
    return 0;
  }

  /**
   * Counts one failed authentication of `bucket`. When the store cannot count, `onStoreFailure.auth`
   * decides: closed (default) answers 503 instead of the 401, open lets the 401 go uncounted.
   */
  async recordFailure(bucket: string): Promise<void> {
    if (!this.limit) return;
    let blockedFor: number;
    try {
      // The store blocks once a count passes its limit: the `limit`-th failure is the last one verified.
      const result = await this.store.throttle(`auth-failures:${bucket}`, this.limit.window * 1000, this.limit.limit - 1, this.limit.block * 1000);
      if (!result.isBlocked) return;
      blockedFor = result.timeToBlockExpire;
    } catch (error) {
      this.storeFailures.handle(error, 'auth');
      return;
    }
    this.refused.delete(bucket);
    if (this.refused.size >= MAX_REMEMBERED) this.refused.delete(this.refused.keys().next().value as string);
    this.refused.set(bucket, this.clock.now() + Math.max(1, blockedFor) * 1000);
  }
}

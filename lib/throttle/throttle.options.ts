import { disableable, integer, object, seconds } from '../core/option-schema.js';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';

export interface RateLimit {
  /** Requests allowed per window. */
  limit?: number;
  /** Window length, in seconds. */
  window?: number;
  /** How long a client that went over stays blocked, in seconds. Default 0: the rest of the window. */
  block?: number;
}

export interface LockoutOptions {
  /** Failed logins of one account, from any address, before it is locked. Default 5. */
  threshold?: number;
  /** Window the failures are counted in, in seconds. Default 900. */
  window?: number;
  /** First lock, in seconds; doubles with every lock within a day. Default 900. */
  duration?: number;
  /** Longest lock, in seconds. Default 86400. */
  maxDuration?: number;
}

export interface ThrottleOptions {
  /**
   * Rate limits (@nestjs/throttler). `default`: every route, per route and caller (the verified
   * subject, else the client address), default 100 per 60 s. `auth`: routes marked `@AuthThrottle()`,
   * per route and client address, default 10 per 60 s. `false` turns them off.
   */
  throttle?: { default?: RateLimit; auth?: RateLimit } | boolean;
  /** Per-account lockout after failed logins (used through `AccountLockoutService`). `false` turns it off. */
  lockout?: LockoutOptions | boolean;
}

const rateLimit = (limit: number) =>
  disableable(
    object({
      limit: integer({ min: 1, default: limit }),
      window: seconds({ min: 0.001, max: 86_400, default: 60 }),
      block: seconds({ min: 0, max: 86_400, default: 0 }),
    }),
    { default: 'on' },
  );

export const throttleOptionsSchema = object({
  throttle: disableable(object({ default: rateLimit(100), auth: rateLimit(10) }), { default: 'on' }),
  lockout: disableable(
    object({
      threshold: integer({ min: 1, max: 1000, default: 5 }),
      window: seconds({ min: 1, max: 7 * 86_400, default: 900 }),
      duration: seconds({ min: 1, max: 7 * 86_400, default: 900 }),
      maxDuration: seconds({ min: 1, max: 30 * 86_400, default: 86_400 }),
    }),
    { default: 'on' },
  ),
});

export interface ResolvedRateLimit {
  readonly limit: number;
  readonly window: number;
  readonly block: number;
}

export interface ThrottleConfig {
  /** `false`: no rate limits at all; a limit set to `false` alone switches only that one off. */
  readonly throttle: { readonly default: ResolvedRateLimit | false; readonly auth: ResolvedRateLimit | false } | false;
  readonly lockout: Required<LockoutOptions> | false;
}

export function resolveThrottleOptions(raw: Record<string, unknown>): ThrottleConfig {
  const given = throttleOptionsSchema.pick(raw);
  if (given.lockout && given.lockout.maxDuration < given.lockout.duration) {
    throw new ZeroTrustConfigurationError('lockout.maxDuration must be at least lockout.duration.');
  }
  return given;
}

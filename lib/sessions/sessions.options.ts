import { disableable, object, seconds } from '../core/option-schema.js';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';

export interface SessionOptions {
  /** Absolute lifetime of a session and its refresh tokens, in seconds. Default 2592000 (30 days). */
  refreshTokenTtl?: number;
  /** A session unused for this long (seconds) is dead. Default 604800 (7 days), at most `refreshTokenTtl`. */
  idleTimeout?: number;
  /**
   * How long, in seconds, an instance may trust its cached answer to "is this session still live?".
   * The worst-case delay before another instance's revocation is enforced when the store has no
   * broadcast. Default 1, at most 60.
   */
  revocationCacheTtl?: number;
}

export interface SessionsOptions {
  /**
   * Login sessions with refresh-token rotation and revocation checked on every request. Needs a
   * TypeORM DataSource and the `ZeroTrustSessions1732000100000` migration. `{}` or `true` turns them
   * on with the defaults. Default: off.
   */
  sessions?: SessionOptions | boolean;
}

export const sessionsOptionsSchema = object({
  sessions: disableable(
    object({
      refreshTokenTtl: seconds({ min: 60, max: 365 * 24 * 3600, default: 30 * 24 * 3600 }),
      idleTimeout: seconds({ min: 60, max: 365 * 24 * 3600, default: 7 * 24 * 3600 }),
      revocationCacheTtl: seconds({ min: 0, max: 60, default: 1 }),
    }),
    { default: 'off' },
  ),
});

export type SessionsConfig = Required<SessionOptions>;

export function resolveSessionsOptions(raw: Record<string, unknown>): SessionsConfig | false {
  const { sessions } = sessionsOptionsSchema.pick(raw);
  if (sessions === false) return false;
  const given = (raw.sessions ?? {}) as SessionOptions;
  // An idle timeout longer than the session itself means nothing: cap the default, refuse an explicit one.
  if (given.idleTimeout === undefined) sessions.idleTimeout = Math.min(sessions.idleTimeout, sessions.refreshTokenTtl);
  else if (sessions.idleTimeout > sessions.refreshTokenTtl) {
    throw new ZeroTrustConfigurationError(`sessions.idleTimeout (${sessions.idleTimeout}) must not be longer than sessions.refreshTokenTtl (${sessions.refreshTokenTtl}).`);
  }
  return sessions;
}

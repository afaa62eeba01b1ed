import { custom, disableable, object, optional, seconds } from '../core/option-schema.js';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';
import type { InjectionToken } from '../database/database.options.js';
import { isSessionGrants, type SessionGrants } from './session-grants.port.js';

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
  /**
   * Seconds during which a refresh token that was just rotated still yields the same successor (the
   * same new refresh token, a new access token), so two tabs refreshing at once do not trip reuse
   * detection. Outside it, a rotated token coming back revokes the session. Default 2, at most 60;
   * 0 turns it off (of N parallel refreshes exactly one succeeds).
   */
  refreshGracePeriod?: number;
  /**
   * The grants port: the subject's current scopes and roles, read at every refresh (see `SessionGrants`).
   * An object, or the injection token of a provider of the app (e.g. `UsersService`). Default: a session
   * keeps the grants it was created with.
   */
  grants?: SessionGrants | InjectionToken;
}

export interface SessionsOptions {
  /**
   * Login sessions with refresh-token rotation and revocation checked on every request. Needs a
   * TypeORM DataSource and the `ZeroTrustSessions1732000100000` and `ZeroTrustSessionBinding1732000110000`
   * migrations. `{}` or `true` turns them on with the defaults. Default: off.
   */
  sessions?: SessionOptions | boolean;
}

export const sessionsOptionsSchema = object({
  sessions: disableable(
    object({
      refreshTokenTtl: seconds({ min: 60, max: 365 * 24 * 3600, default: 30 * 24 * 3600 }),
      idleTimeout: seconds({ min: 60, max: 365 * 24 * 3600, default: 7 * 24 * 3600 }),
      revocationCacheTtl: seconds({ min: 0, max: 60, default: 1 }),
      refreshGracePeriod: seconds({ min: 0, max: 60, default: 2 }),
      grants: optional(
        custom<SessionGrants | InjectionToken>('an object with grantsOf(subject), or the injection token of a provider that has it', (value) =>
          typeof value === 'function' || typeof value === 'string' || typeof value === 'symbol' || isSessionGrants(value)
            ? (value as SessionGrants | InjectionToken)
            : undefined,
        ),
      ),
    }),
    { default: 'off' },
  ),
});

export interface SessionsConfig {
  readonly refreshTokenTtl: number;
  readonly idleTimeout: number;
  readonly revocationCacheTtl: number;
  readonly refreshGracePeriod: number;
  readonly grants?: SessionGrants | InjectionToken;
}

export function resolveSessionsOptions(raw: Record<string, unknown>): SessionsConfig | false {
  const { sessions } = sessionsOptionsSchema.pick(raw);
  if (sessions === false) return false;
  const given = (raw.sessions ?? {}) as SessionOptions;
  // An idle timeout longer than the session itself means nothing: cap the default, refuse an explicit one.
  if (given.idleTimeout === undefined) sessions.idleTimeout = Math.min(sessions.idleTimeout, sessions.refreshTokenTtl);
  else if (sessions.idleTimeout > sessions.refreshTokenTtl) {
    throw new ZeroTrustConfigurationError(`sessions.idleTimeout (${sessions.idleTimeout}) must not be longer than sessions.refreshTokenTtl (${sessions.refreshTokenTtl}).`);
  }
  const { grants, ...rest } = sessions;
  return grants === undefined ? rest : { ...rest, grants };
}

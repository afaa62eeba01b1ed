import { Inject, Injectable, Logger, type OnApplicationBootstrap, UnauthorizedException } from '@nestjs/common';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { SessionCheck } from '../auth/session-check.port.js';
import { type IssuedAccessToken, TokenService } from '../auth/token.service.js';
import { Clock } from '../core/clock.js';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';
import { DataSourceRef } from '../database/data-source.ref.js';
import { RlsContext } from '../database/rls-context.js';
import { ZERO_TRUST_STORE } from '../store/store.internal-constants.js';
import type { ZeroTrustStore } from '../store/zero-trust-store.js';
import { SESSIONS_CONFIG } from './sessions.internal-constants.js';
import type { SessionsConfig } from './sessions.options.js';
import { type RefreshFailureReason, RefreshTokenRejection } from './refresh-token-rejection.js';

export interface SessionTokens extends IssuedAccessToken {
  /** Opaque, 256 bits; shown once, stored only as a hash. */
  refreshToken: string;
  /** Seconds until the refresh token (and the session) reaches its absolute lifetime. */
  refreshExpiresIn: number;
  sessionId: string;
}

export interface NewSession {
  scopes?: readonly string[];
  /** RFC 8176 methods used at login, e.g. `['pwd']` or `['pwd', 'otp', 'mfa']`. */
  authMethods?: readonly string[];
}

interface SessionRow {
  id: string;
  subject: string;
  scopes: string[];
  auth_methods: string[];
  expires_at: Date;
}

const REVOCATION_CHANNEL = 'session-revocations';
const REFRESH_TOKEN_FORMAT = /^[A-Za-z0-9_-]{43}$/;
const CACHE_LIMIT = 10_000;

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

/** TypeORM answers an UPDATE/DELETE with `[rows, affected]` and a SELECT with `rows`: always return the rows. */
async function rows<T>(db: Pick<DataSource, 'query'>, sql: string, parameters: unknown[]): Promise<T[]> {
  const result = (await db.query(sql, parameters)) as unknown;
  if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number') return result[0] as T[];
  return result as T[];
}

/**
 * One claim, one touch, one insert, in a single statement: atomic on PostgreSQL and on PGlite alike,
 * so two concurrent refreshes with the same token can never both succeed (only one UPDATE can move
 * `used_at` from NULL). The new token inherits the session's absolute expiry.
 */
const ROTATE_SQL = `
  WITH claimed AS (
    UPDATE zt_refresh_tokens SET used_at = now()
    WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()
    RETURNING session_id
  ), live AS (
    UPDATE zt_sessions s SET last_used_at = now()
    FROM claimed
    WHERE s.id = claimed.session_id AND s.revoked_at IS NULL AND s.expires_at > now()
      AND s.last_used_at > now() - make_interval(secs => $2)
    RETURNING s.id, s.subject, s.scopes, s.auth_methods, s.expires_at
  ), inserted AS (
    INSERT INTO zt_refresh_tokens (id, session_id, token_hash, expires_at)
    SELECT $3, live.id, $4, live.expires_at FROM live
    RETURNING id
  )
  SELECT claimed.session_id AS claimed_session, live.*
  FROM (SELECT 1) AS one LEFT JOIN claimed ON true LEFT JOIN live ON true`;

/**
 * Login sessions ("families" of refresh tokens): creation, rotation with reuse detection, and
 * revocation that every request observes. Enable with the `sessions` option and the
 * `ZeroTrustSessions1732000100000` migration.
 */
@Injectable()
export class SessionService extends SessionCheck implements OnApplicationBootstrap {
  private readonly activity = new Map<string, { active: boolean; until: number }>();

  private readonly logger = new Logger('ZeroTrustSessions');

  constructor(
    private readonly dataSources: DataSourceRef,
    private readonly tokens: TokenService,
    private readonly audit: AuditService,
    @Inject(SESSIONS_CONFIG) private readonly config: SessionsConfig | false,
    @Inject(ZERO_TRUST_STORE) private readonly store: ZeroTrustStore,
    private readonly clock: Clock,
  ) {
    super();
  }

  get enabled(): boolean {
    return this.config !== false;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.enabled) return;
    // With a shared store (Redis), every instance hears every revocation at once instead of waiting
    // out its cache bound; the database stays the source of truth if a message is lost.
    await this.store.subscribe?.(REVOCATION_CHANNEL, (sessionId) => this.remember(sessionId, false)).catch((error: Error) =>
      this.logger.warn(`revocations will not be broadcast (${error.message}); other instances see them within revocationCacheMs`),
    );
    const db = await this.database();
    try {
      await db.query('SELECT 1 FROM zt_sessions LIMIT 0');
    } catch {
      throw new ZeroTrustConfigurationError(
        'sessions are enabled but the zt_sessions table is missing: add ZeroTrustSessions1732000100000 to your migrations.',
      );
    }
  }

  /** Starts a session at login and issues its first access and refresh tokens. */
  async create(subject: string, session: NewSession = {}): Promise<SessionTokens> {
    const options = this.options();
    const db = await this.database();
    const id = randomUUID();
    const scopes = [...(session.scopes ?? [])];
    const authMethods = [...(session.authMethods ?? [])];
    await db.query(
      `INSERT INTO zt_sessions (id, subject, scopes, auth_methods, expires_at) VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))`,
      [id, subject, scopes, authMethods, options.refreshTokenTtl],
    );
    const refreshToken = randomBytes(32).toString('base64url');
    await db.query(
      `INSERT INTO zt_refresh_tokens (id, session_id, token_hash, expires_at) VALUES ($1, $2, $3, now() + make_interval(secs => $4))`,
      [randomUUID(), id, hashToken(refreshToken), options.refreshTokenTtl],
    );
    this.remember(id, true);
    this.audit.publish({
      type: 'session.created',
      outcome: 'success',
      principal: { subject, sessionId: id },
      details: { authMethods: authMethods.join(' ') },
    });
    return this.issue({ id, subject, scopes, auth_methods: authMethods, expires_at: new Date(this.clock.now() + options.refreshTokenTtl * 1000) }, refreshToken);
  }

  /**
   * Exchanges a refresh token for a new pair. The presented token dies; presenting it again revokes
   * the whole session (OAuth 2.0 Security BCP §4.14: refresh token rotation with reuse detection).
   */
  async rotate(refreshToken: unknown): Promise<SessionTokens> {
    const options = this.options();
    const db = await this.database();
    try {
      if (typeof refreshToken !== 'string' || !REFRESH_TOKEN_FORMAT.test(refreshToken)) throw new RefreshTokenRejection('malformed');
      const presentedHash = hashToken(refreshToken);
      const next = randomBytes(32).toString('base64url');
      const [row] = await rows<SessionRow & { claimed_session: string | null }>(db, ROTATE_SQL, [
        presentedHash,
        options.idleTimeout,
        randomUUID(),
        hashToken(next),
      ]);
      if (row?.id) {
        this.audit.publish({
          type: 'token.refreshed',
          outcome: 'success',
          principal: { subject: row.subject, sessionId: row.id },
        });
        return this.issue(row, next);
      }
      throw new RefreshTokenRejection(
        row?.claimed_session ? await this.whySessionFailed(db, row.claimed_session) : await this.whyTokenFailed(db, presentedHash),
      );
    } catch (error) {
      if (!(error instanceof RefreshTokenRejection)) throw error;
      if (error.reason !== 'refresh_token_reused') {
        this.audit.publish({ type: 'auth.failure', outcome: 'failure', reason: error.reason });
      }
      throw new UnauthorizedException();
    }
  }

  /** Revokes one session: its refresh tokens stop working and its access tokens get 401 on the next request. */
  async revoke(sessionId: string, reason: string): Promise<boolean> {
    const db = await this.database();
    const revoked = await rows<{ id: string; subject: string }>(
      db,
      `UPDATE zt_sessions SET revoked_at = now(), revoked_reason = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING id, subject`,
      [sessionId, reason],
    );
    this.remember(sessionId, false);
    this.broadcast(sessionId);
    for (const row of revoked) this.auditRevocation(row.subject, row.id, reason);
    return revoked.length > 0;
  }

  /** Revokes every session of a subject (logout everywhere, password change, disabled user), optionally but one. */
  async revokeAll(subject: string, reason: string, options: { except?: string } = {}): Promise<number> {
    const db = await this.database();
    const revoked = await rows<{ id: string }>(
      db,
      `UPDATE zt_sessions SET revoked_at = now(), revoked_reason = $2
       WHERE subject = $1 AND revoked_at IS NULL AND ($3::uuid IS NULL OR id <> $3::uuid) RETURNING id`,
      [subject, reason, options.except ?? null],
    );
    for (const row of revoked) {
      this.remember(row.id, false);
      this.broadcast(row.id);
      this.auditRevocation(subject, row.id, reason);
    }
    return revoked.length;
  }

  /**
   * Whether a session may still be used; asked on every authenticated request. Answers come from a
   * bounded in-process cache for at most `revocationCacheMs`; a revocation made by this instance is
   * seen at once, one made by another instance within that bound.
   */
  async isActive(sessionId: string): Promise<boolean> {
    const cached = this.activity.get(sessionId);
    const now = this.clock.now();
    if (cached && cached.until > now) return cached.active;
    const db = await this.database();
    const [row] = await rows<{ ok: number }>(
      db,
      `SELECT 1 AS ok FROM zt_sessions WHERE id = $1 AND revoked_at IS NULL AND expires_at > now()
         AND last_used_at > now() - make_interval(secs => $2)`,
      [sessionId, this.options().idleTimeout],
    );
    const active = row !== undefined;
    this.remember(sessionId, active);
    return active;
  }

  private async whyTokenFailed(db: Pick<DataSource, 'query'>, tokenHash: string): Promise<RefreshFailureReason> {
    const [token] = await rows<{ session_id: string; used_at: Date | null; expired: boolean; subject: string }>(
      db,
      `SELECT t.session_id, t.used_at, t.expires_at <= now() AS expired, s.subject
       FROM zt_refresh_tokens t JOIN zt_sessions s ON s.id = t.session_id WHERE t.token_hash = $1`,
      [tokenHash],
    );
    if (!token) return 'unknown_refresh_token';
    if (token.used_at) {
      // A used token coming back means two parties hold the family: kill it, the attacker's copy with it.
      this.audit.publish({
        type: 'token.reuse_detected',
        outcome: 'denied',
        reason: 'refresh_token_reused',
        principal: { subject: token.subject, sessionId: token.session_id },
      });
      await this.revoke(token.session_id, 'refresh_token_reuse');
      return 'refresh_token_reused';
    }
    return token.expired ? 'refresh_token_expired' : 'unknown_refresh_token';
  }

  private async whySessionFailed(db: Pick<DataSource, 'query'>, sessionId: string): Promise<RefreshFailureReason> {
    const [session] = await rows<{ revoked: boolean; expired: boolean }>(
      db,
      `SELECT revoked_at IS NOT NULL AS revoked, expires_at <= now() AS expired FROM zt_sessions WHERE id = $1`,
      [sessionId],
    );
    if (!session || session.revoked) return 'session_revoked';
    const reason = session.expired ? 'session_expired' : 'session_idle';
    await this.revoke(sessionId, reason);
    return reason;
  }

  private issue(row: SessionRow, refreshToken: string): SessionTokens {
    const access = this.tokens.issueAccessToken({ subject: row.subject, scopes: row.scopes, sessionId: row.id, authMethods: row.auth_methods });
    return {
      ...access,
      refreshToken,
      refreshExpiresIn: Math.max(0, Math.floor((new Date(row.expires_at).getTime() - this.clock.now()) / 1000)),
      sessionId: row.id,
    };
  }

  private remember(sessionId: string, active: boolean): void {
    if (this.activity.size >= CACHE_LIMIT) this.activity.delete(this.activity.keys().next().value as string);
    this.activity.set(sessionId, { active, until: this.clock.now() + (this.config ? this.config.revocationCacheTtl * 1000 : 0) });
  }

  private broadcast(sessionId: string): void {
    this.store.publish?.(REVOCATION_CHANNEL, sessionId).catch(() => undefined);
  }

  private auditRevocation(subject: string, sessionId: string, reason: string): void {
    this.audit.publish({ type: 'session.revoked', outcome: 'success', reason, principal: { subject, sessionId } });
  }

  private options(): SessionsConfig {
    if (this.config === false) {
      throw new ZeroTrustConfigurationError('SessionService needs the `sessions` option (e.g. `sessions: {}`) and the ZeroTrustSessions migration.');
    }
    return this.config;
  }

  /** Inside a row-level-security transaction its manager is used: on PGlite a second connection would wait for it. */
  private async database(): Promise<Pick<DataSource, 'query'>> {
    const manager = RlsContext.manager();
    if (manager) return manager;
    return this.dataSources.get();
  }
}

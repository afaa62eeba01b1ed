import { HttpException, Inject, Injectable, Logger, type OnApplicationBootstrap, UnauthorizedException } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { AUTH_CONFIG } from '../auth/auth.internal-constants.js';
import type { AuthConfig } from '../auth/auth.options.js';
import { type SessionBinding, SessionCheck } from '../auth/session-check.port.js';
import { SessionStoreUnavailable } from '../auth/session-store-unavailable.error.js';
import { currentDpopProof, isVerifiedDpopProof, type VerifiedDpopProof } from '../auth/dpop-proof.verifier.js';
import { type IssuedAccessToken, TokenService } from '../auth/token.service.js';
import { Clock } from '../core/clock.js';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';
import { DataSourceRef } from '../database/data-source.ref.js';
import { RlsContext } from '../database/rls-context.js';
import { MFA_ACR, MFA_METHODS } from '../mfa/require-mfa.decorator.js';
import { ZERO_TRUST_STORE } from '../store/store.internal-constants.js';
import type { ZeroTrustStore } from '../store/zero-trust-store.js';
import { openSuccessor, sealSuccessor } from './refresh-successor.seal.js';
import { type RefreshFailureReason, RefreshTokenRejection } from './refresh-token-rejection.js';
import { isSessionGrants, type SessionGrants, type SubjectGrants } from './session-grants.port.js';
import { SESSIONS_CONFIG } from './sessions.internal-constants.js';
import type { SessionsConfig } from './sessions.options.js';
import { rows } from '../database/query-rows.js';

export interface SessionTokens extends IssuedAccessToken {
  /** Opaque, 256 bits; shown once, stored only as a hash. */
  refreshToken: string;
  /** Seconds until the refresh token (and the session) reaches its absolute lifetime. */
  refreshExpiresIn: number;
  sessionId: string;
}

export interface NewSession {
  scopes?: readonly string[];
  roles?: readonly string[];
  /** RFC 8176 methods used at login, e.g. `['pwd']` or `['pwd', 'otp', 'mfa']`. */
  authMethods?: readonly string[];
  /**
   * Binds the session to the client's DPoP key (RFC 9449 §5): its refresh tokens then need a proof by
   * that key, and every access token it yields carries `cnf.jkt`. Default: the proof that
   * `DpopProofVerifier.forTokenRequest()` verified for the current request, if any.
   */
  dpop?: VerifiedDpopProof;
}

/** Options of `SessionService.rotate()`. */
export interface RotateOptions {
  /** The refresh request's verified DPoP proof. Default: the one `DpopProofVerifier.forTokenRequest()` verified for the current request. */
  dpop?: VerifiedDpopProof;
}

/** An access token issued after the user proved their credentials again, inside their session. */
export interface ReauthenticatedSession extends IssuedAccessToken {
  sessionId: string;
}

interface SessionRow {
  id: string;
  subject: string;
  scopes: string[];
  roles: string[];
  auth_methods: string[];
  /** Seconds since the epoch. */
  auth_time: number;
  grants_version: number;
  expires_at: Date;
}

/** What the per-request check remembers of a session. */
interface SessionState {
  readonly live: boolean;
  readonly subject?: string;
  readonly issuer?: string | null;
  readonly grantsVersion?: number;
}

/**
 * Private claim carrying the session's grants version (RFC 7519 §4.3, prefixed against collisions): a
 * token whose version is older than its session's was issued before a grants change and is refused.
 */
export const GRANTS_VERSION_CLAIM = 'zt_grants_version';

const REVOCATION_CHANNEL = 'session-revocations';
/** "Forget what you cached about this session": its grants changed. Separate from revocations, which mark it dead. */
const CHANGE_CHANNEL = 'session-changes';
const REFRESH_TOKEN_FORMAT = /^[A-Za-z0-9_-]{43}$/;
const SESSION_ID_FORMAT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CACHE_LIMIT = 10_000;
const DEAD: SessionState = Object.freeze({ live: false });

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

const SESSION_COLUMNS = `s.id, s.subject, s.scopes, s.roles, s.auth_methods, floor(extract(epoch FROM s.auth_time))::float8 AS auth_time, s.grants_version, s.expires_at`;
const LIVE = (idle: string) => `s.revoked_at IS NULL AND s.expires_at > now() AND s.last_used_at > now() - make_interval(secs => ${idle})`;

/**
 * One claim, one touch, one insert, in a single statement: atomic on PostgreSQL and on PGlite alike,
 * so two concurrent refreshes with the same token can never both rotate it (only one UPDATE can move
 * `used_at` from NULL). The new token inherits the session's absolute expiry. The claimed token keeps
 * its successor, sealed, for the grace period; the seals of the session's older tokens are dropped.
 */
const ROTATE_SQL = `
  WITH claimed AS (
    UPDATE zt_refresh_tokens SET used_at = now(), successor_id = $3, successor_sealed = $5
    WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()
    RETURNING session_id
  ), live AS (
    UPDATE zt_sessions s SET last_used_at = now()
    FROM claimed
    WHERE s.id = claimed.session_id AND ${LIVE('$2')}
    RETURNING ${SESSION_COLUMNS}
  ), inserted AS (
    INSERT INTO zt_refresh_tokens (id, session_id, token_hash, expires_at)
    SELECT $3, live.id, $4, live.expires_at FROM live
    RETURNING id
  ), unsealed AS (
    UPDATE zt_refresh_tokens t SET successor_sealed = NULL
    FROM claimed
    WHERE t.session_id = claimed.session_id AND t.token_hash <> $1 AND t.successor_sealed IS NOT NULL
    RETURNING t.id
  )
  SELECT claimed.session_id AS claimed_session, live.*
  FROM (SELECT 1) AS one LEFT JOIN claimed ON true LEFT JOIN live ON true`;

/**
 * Login sessions ("families" of refresh tokens): creation, rotation with reuse detection, and
 * revocation that every request observes. Enable with the `sessions` option and the
 * `ZeroTrustSessions1732000100000` and `ZeroTrustSessionBinding1732000110000` migrations.
 */
@Injectable()
export class SessionService extends SessionCheck implements OnApplicationBootstrap {
  private readonly activity = new Map<string, { state: SessionState; until: number }>();
  /** Reads of a session's state in flight, shared by the requests that need it meanwhile (see `state`). */
  private readonly reading = new Map<string, Promise<SessionState>>();
  private grantsPort?: SessionGrants;

  private readonly logger = new Logger('ZeroTrustSessions');

  constructor(
    private readonly dataSources: DataSourceRef,
    private readonly tokens: TokenService,
    private readonly audit: AuditService,
    @Inject(SESSIONS_CONFIG) private readonly config: SessionsConfig | false,
    @Inject(ZERO_TRUST_STORE) private readonly store: ZeroTrustStore,
    private readonly clock: Clock,
    @Inject(AUTH_CONFIG) private readonly auth: AuthConfig,
    private readonly moduleRef: ModuleRef,
  ) {
    super();
  }

  get enabled(): boolean {
    return this.config !== false;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.config === false) return;
    this.grantsPort = this.resolveGrants(this.config);
    // With a shared store (Redis), every instance hears every revocation at once instead of waiting
    // out its cache bound; the database stays the source of truth if a message is lost.
    // Not awaited: with Redis down at boot the subscription completes (and is renewed after every reconnect)
    // once Redis answers; until then other instances' revocations arrive within revocationCacheTtl.
    this.listen(REVOCATION_CHANNEL, 'revocations', (sessionId) => this.remember(sessionId, DEAD));
    this.listen(CHANGE_CHANNEL, 'grants changes', (sessionId) => this.forget(sessionId));
    const db = await this.database();
    for (const [probe, migration] of [
      ['SELECT 1 FROM zt_sessions LIMIT 0', 'ZeroTrustSessions1732000100000'],
      ['SELECT issuer, roles, auth_time, grants_version FROM zt_sessions LIMIT 0', 'ZeroTrustSessionBinding1732000110000'],
      ['SELECT successor_id, successor_sealed FROM zt_refresh_tokens LIMIT 0', 'ZeroTrustSessionBinding1732000110000'],
    ]) {
      try {
        await db.query(probe);
      } catch {
        throw new ZeroTrustConfigurationError(`sessions are enabled but the database lacks what ${migration} creates: add it to your migrations.`);
      }
    }
    await this.hasSenderKeyColumn(db);
  }

  /** Starts a session at login and issues its first access and refresh tokens. */
  async create(subject: string, session: NewSession = {}): Promise<SessionTokens> {
    return this.whileStoreAnswers(() => this.start(subject, session));
  }

  private async start(subject: string, session: NewSession): Promise<SessionTokens> {
    const options = this.options();
    const db = await this.database();
    const id = randomUUID();
    const scopes = [...(session.scopes ?? [])];
    const roles = [...(session.roles ?? [])];
    const authMethods = [...(session.authMethods ?? [])];
    // The app's clock, like every time check of the module; the expiry stays on the database's clock.
    const authTime = Math.floor(this.clock.now() / 1000);
    const jkt = proofOf(session.dpop)?.jkt;
    if (jkt !== undefined && !(await this.hasSenderKeyColumn(db))) {
      throw new ZeroTrustConfigurationError('a login presented a DPoP proof but zt_sessions has no dpop_jkt column: add ZeroTrustSessionSenderKey1732000170000 to your migrations.');
    }
    await db.query(
      `INSERT INTO zt_sessions (id, subject, issuer, scopes, roles, auth_methods, auth_time, expires_at${jkt ? ', dpop_jkt' : ''})
       VALUES ($1, $2, $3, $4, $5, $6, to_timestamp($7), now() + make_interval(secs => $8)${jkt ? ', $9' : ''})`,
      [id, subject, this.auth.issuer, scopes, roles, authMethods, authTime, options.refreshTokenTtl, ...(jkt ? [jkt] : [])],
    );
    const refreshToken = randomBytes(32).toString('base64url');
    await db.query(
      `INSERT INTO zt_refresh_tokens (id, session_id, token_hash, expires_at) VALUES ($1, $2, $3, now() + make_interval(secs => $4))`,
      [randomUUID(), id, hashToken(refreshToken), options.refreshTokenTtl],
    );
    this.remember(id, { live: true, subject, issuer: this.auth.issuer, grantsVersion: 0 });
    this.audit.publish({
      type: 'session.created',
      outcome: 'success',
      principal: { subject, sessionId: id },
      details: { authMethods: authMethods.join(' ') },
    });
    const row: SessionRow = {
      id,
      subject,
      scopes,
      roles,
      auth_methods: authMethods,
      auth_time: authTime,
      grants_version: 0,
      expires_at: new Date(this.clock.now() + options.refreshTokenTtl * 1000),
    };
    return { ...this.issue(row, { scopes, roles }, jkt), ...this.refreshPart(row, refreshToken) };
  }

  /**
   * Exchanges a refresh token for a new pair. The presented token dies; presenting it again revokes
   * the whole session (OAuth 2.0 Security BCP §4.14: refresh token rotation with reuse detection),
   * except within `refreshGracePeriod` of its rotation, when it yields the same successor again (two
   * tabs refreshing at once). The subject's grants are read again through the grants port.
   */
  async rotate(refreshToken: unknown, rotation: RotateOptions = {}): Promise<SessionTokens> {
    const options = this.options();
    const db = await this.database();
    try {
      if (typeof refreshToken !== 'string' || !REFRESH_TOKEN_FORMAT.test(refreshToken)) throw new RefreshTokenRejection('malformed');
      const presentedHash = hashToken(refreshToken);
      // Before the claim: a bound token refused for its proof stays unused, so the thief burns nothing.
      const jkt = await this.senderKeyFor(db, presentedHash, proofOf(rotation.dpop));
      const next = randomBytes(32).toString('base64url');
      const [row] = await rows<SessionRow & { claimed_session: string | null }>(db, ROTATE_SQL, [
        presentedHash,
        options.idleTimeout,
        randomUUID(),
        hashToken(next),
        options.refreshGracePeriod > 0 ? sealSuccessor(refreshToken, next) : null,
      ]);
      if (row?.id) return await this.deliver(row, next, false, jkt);
      if (row?.claimed_session) throw new RefreshTokenRejection(await this.whySessionFailed(db, row.claimed_session));
      const successor = await this.withinGrace(db, refreshToken, presentedHash, jkt);
      if (successor) return successor;
      throw new RefreshTokenRejection(await this.whyTokenFailed(db, presentedHash));
    } catch (error) {
      if (!(error instanceof RefreshTokenRejection)) throw this.storeFailure(error);
      if (error.reason !== 'refresh_token_reused') {
        this.audit.publish({ type: 'auth.failure', outcome: 'failure', reason: error.reason });
      }
      throw new UnauthorizedException();
    }
  }

  /**
   * Records that the session's user proved their credentials again just now (a password, or the
   * current second factor): the session's `auth_time` moves to now and `methods` join its `amr`. Returns
   * a new access token carrying them; the tokens issued before keep their older `auth_time`. The
   * caller checks the credentials (see `SignInService.reauthenticate`).
   */
  async reauthenticate(sessionId: string, subject: string, methods: readonly string[]): Promise<ReauthenticatedSession> {
    const options = this.options();
    if (!SESSION_ID_FORMAT.test(sessionId)) throw new UnauthorizedException();
    const db = await this.database();
    const [row] = await rows<SessionRow>(
      db,
      `UPDATE zt_sessions s SET auth_time = to_timestamp($3), last_used_at = now(),
         auth_methods = ARRAY(SELECT m FROM unnest(s.auth_methods || $4::text[]) WITH ORDINALITY AS x(m, i) GROUP BY m ORDER BY min(i))
       WHERE s.id = $1 AND s.subject = $2 AND ${LIVE('$5')}
       RETURNING ${SESSION_COLUMNS}`,
      [sessionId, subject, Math.floor(this.clock.now() / 1000), [...methods], options.idleTimeout],
    );
    if (!row) throw new UnauthorizedException();
    const grants = await this.currentGrants(row);
    if (!grants) throw new UnauthorizedException();
    // A bound session never yields a bearer token: that would be the way around its binding.
    return { ...this.issue(row, grants, await this.sessionSenderKey(db, row.id)), sessionId: row.id };
  }

  /**
   * The subject's grants changed (an operator removed a scope, a role was granted): every access token
   * already issued for their live sessions fails its next session check, on this instance at once, on
   * the others at once through the store's broadcast or within `revocationCacheTtl`. Sessions stay
   * live; their next refresh reads the new grants through the grants port.
   */
  async grantsChanged(subject: string): Promise<number> {
    this.options();
    const db = await this.database();
    const changed = await rows<{ id: string }>(
      db,
      `UPDATE zt_sessions SET grants_version = grants_version + 1 WHERE subject = $1 AND revoked_at IS NULL RETURNING id`,
      [subject],
    );
    for (const { id } of changed) {
      this.forget(id);
      this.store.publish?.(CHANGE_CHANNEL, id).catch(() => undefined);
    }
    if (changed.length > 0) {
      this.audit.publish({ type: 'session.grants_changed', outcome: 'success', principal: { subject }, details: { sessions: changed.length } });
    }
    return changed.length;
  }

  /** Revokes one session: its refresh tokens stop working and its access tokens get 401 on the next request. */
  async revoke(sessionId: string, reason: string): Promise<boolean> {
    if (!SESSION_ID_FORMAT.test(sessionId)) return false;
    const db = await this.database();
    const revoked = await rows<{ id: string; subject: string }>(
      db,
      `UPDATE zt_sessions SET revoked_at = now(), revoked_reason = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING id, subject`,
      [sessionId, reason],
    );
    this.remember(sessionId, DEAD);
    this.broadcast(sessionId);
    for (const row of revoked) this.auditRevocation(row.subject, row.id, reason);
    return revoked.length > 0;
  }

  /** Revokes every session of a subject (logout everywhere, password change, disabled user), optionally but one. */
  async revokeAll(subject: string, reason: string, options: { except?: string } = {}): Promise<number> {
    const db = await this.database();
    const except = options.except !== undefined && SESSION_ID_FORMAT.test(options.except) ? options.except : null;
    const revoked = await rows<{ id: string }>(
      db,
      `UPDATE zt_sessions SET revoked_at = now(), revoked_reason = $2
       WHERE subject = $1 AND revoked_at IS NULL AND ($3::uuid IS NULL OR id <> $3::uuid) RETURNING id`,
      [subject, reason, except],
    );
    for (const row of revoked) {
      this.remember(row.id, DEAD);
      this.broadcast(row.id);
      this.auditRevocation(subject, row.id, reason);
    }
    return revoked.length;
  }

  /**
   * Whether a token may still use its session; asked on every authenticated request. The session must
   * be live, belong to the token's subject and issuer (a token minted for someone else cannot ride on
   * another subject's session, nor outlive that subject's logout-all), and the token must carry the
   * session's current grants version. Answers come from a bounded in-process cache for at most
   * `revocationCacheTtl`; a revocation made by this instance is seen at once, one made by another
   * instance within that bound (at once with a store that broadcasts).
   */
  async isActive(sessionId: string, token?: SessionBinding): Promise<boolean> {
    // Fails closed: a caller that cannot say whose token this is gets no session.
    if (!token || !SESSION_ID_FORMAT.test(sessionId)) return false;
    return verdict(await this.whileStoreAnswers(() => this.state(sessionId)), token);
  }

  /** `isActive`'s answer from the cached state while it is fresh; `undefined` when it must be read. */
  override isActiveNow(sessionId: string, token?: SessionBinding): boolean | undefined {
    if (!token || !SESSION_ID_FORMAT.test(sessionId)) return false;
    const cached = this.activity.get(sessionId);
    return cached && cached.until > this.clock.now() ? verdict(cached.state, token) : undefined;
  }

  /**
   * A session's state, from the cache while fresh. When it expires, the requests in flight for that
   * session share one read (issue 16: 10 connections sent 10 identical queries at every expiry); a
   * failed read is not kept, so the next request asks again. A revocation or grants change while a read
   * is in flight drops it from here (`remember`, `forget`): later requests read afresh, and the stale
   * answer is not cached.
   */
  private state(sessionId: string): Promise<SessionState> {
    const cached = this.activity.get(sessionId);
    if (cached && cached.until > this.clock.now()) return Promise.resolve(cached.state);
    const pending = this.reading.get(sessionId);
    if (pending) return pending;
    const read = this.readState(sessionId).then((state) => {
      if (this.reading.get(sessionId) === read) this.remember(sessionId, state);
      return state;
    });
    this.reading.set(sessionId, read);
    const settle = () => {
      if (this.reading.get(sessionId) === read) this.reading.delete(sessionId);
    };
    read.then(settle, settle);
    return read;
  }

  private async readState(sessionId: string): Promise<SessionState> {
    const db = await this.database();
    const [row] = await rows<{ subject: string; issuer: string | null; grants_version: number; live: boolean }>(
      db,
      `SELECT s.subject, s.issuer, s.grants_version, (${LIVE('$2')}) AS live FROM zt_sessions s WHERE s.id = $1`,
      [sessionId, this.options().idleTimeout],
    );
    return row?.live ? { live: true, subject: row.subject, issuer: row.issuer, grantsVersion: row.grants_version } : DEAD;
  }

  /**
   * The claim failed. A token rotated less than `refreshGracePeriod` ago whose successor is still unused
   * yields that same successor again (opened with the presented token itself) and a new access token;
   * anything else is left to reuse detection.
   */
  private async withinGrace(db: Pick<DataSource, 'query'>, presented: string, presentedHash: string, jkt: string | undefined): Promise<SessionTokens | undefined> {
    const options = this.options();
    if (options.refreshGracePeriod <= 0) return undefined;
    const [candidate] = await rows<{ session_id: string; successor_sealed: string; successor_hash: string }>(
      db,
      `SELECT t.session_id, t.successor_sealed, n.token_hash AS successor_hash
       FROM zt_refresh_tokens t JOIN zt_refresh_tokens n ON n.id = t.successor_id
       WHERE t.token_hash = $1 AND t.used_at > now() - make_interval(secs => $2) AND t.successor_sealed IS NOT NULL
         AND n.used_at IS NULL AND n.expires_at > now()`,
      [presentedHash, options.refreshGracePeriod],
    );
    if (!candidate) return undefined;
    const successor = openSuccessor(presented, candidate.successor_sealed);
    if (!successor || hashToken(successor) !== candidate.successor_hash) return undefined;
    const [row] = await rows<SessionRow>(
      db,
      `UPDATE zt_sessions s SET last_used_at = now() WHERE s.id = $1 AND ${LIVE('$2')} RETURNING ${SESSION_COLUMNS}`,
      [candidate.session_id, options.idleTimeout],
    );
    if (!row) throw new RefreshTokenRejection(await this.whySessionFailed(db, candidate.session_id));
    return this.deliver(row, successor, true, jkt);
  }

  /** The new pair for a rotated session, with the grants the port says the subject holds now. */
  private async deliver(row: SessionRow, refreshToken: string, grace: boolean, jkt: string | undefined): Promise<SessionTokens> {
    const grants = await this.currentGrants(row);
    if (!grants) {
      await this.revoke(row.id, 'grants_withdrawn');
      throw new RefreshTokenRejection('session_revoked');
    }
    this.audit.publish({
      type: 'token.refreshed',
      outcome: 'success',
      principal: { subject: row.subject, sessionId: row.id },
      details: grace ? { gracePeriod: true } : undefined,
    });
    return { ...this.issue(row, grants, jkt), ...this.refreshPart(row, refreshToken) };
  }

  /**
   * The DPoP key the new access token is bound to. A session bound at login needs a proof by its key
   * (RFC 9449 §5: a public client's refresh token is bound); an unbound session refreshed with a proof
   * gets a bound access token (its refresh token stays unbound). The binding never changes after login,
   * so reading it before the atomic claim races with nothing.
   */
  private async senderKeyFor(db: Pick<DataSource, 'query'>, tokenHash: string, proof: VerifiedDpopProof | undefined): Promise<string | undefined> {
    if (!(await this.hasSenderKeyColumn(db))) return proof?.jkt;
    const [row] = await rows<{ dpop_jkt: string | null }>(
      db,
      `SELECT s.dpop_jkt FROM zt_refresh_tokens t JOIN zt_sessions s ON s.id = t.session_id WHERE t.token_hash = $1`,
      [tokenHash],
    );
    const bound = row?.dpop_jkt ?? undefined;
    if (bound === undefined) return proof?.jkt;
    if (!proof) throw new RefreshTokenRejection('dpop_proof_missing');
    if (proof.jkt !== bound) throw new RefreshTokenRejection('dpop_key_mismatch');
    return bound;
  }

  /** The key a live session is bound to, for tokens issued inside it later (reauthentication). */
  private async sessionSenderKey(db: Pick<DataSource, 'query'>, sessionId: string): Promise<string | undefined> {
    if (!(await this.hasSenderKeyColumn(db))) return undefined;
    const [row] = await rows<{ dpop_jkt: string | null }>(db, `SELECT dpop_jkt FROM zt_sessions WHERE id = $1`, [sessionId]);
    return row?.dpop_jkt ?? undefined;
  }

  /**
   * Whether ZeroTrustSessionSenderKey1732000170000 ran: asked at boot, so apps without DPoP need not
   * add it. Through the catalog, never by a failing SELECT, which would abort a surrounding transaction.
   */
  private async hasSenderKeyColumn(db: Pick<DataSource, 'query'>): Promise<boolean> {
    if (this.senderKeyColumn === undefined) {
      const [row] = await rows<{ n: number }>(
        db,
        `SELECT count(*)::int AS n FROM information_schema.columns
         WHERE table_name = 'zt_sessions' AND column_name = 'dpop_jkt' AND table_schema = ANY (current_schemas(false))`,
        [],
      );
      this.senderKeyColumn = Number(row?.n) > 0;
    }
    return this.senderKeyColumn;
  }

  private senderKeyColumn: boolean | undefined;

  private async currentGrants(row: SessionRow): Promise<SubjectGrants | null> {
    if (!this.grantsPort) return { scopes: row.scopes, roles: row.roles };
    const grants = await this.grantsPort.grantsOf(row.subject);
    return grants && { scopes: [...(grants.scopes ?? [])], roles: [...(grants.roles ?? [])] };
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

  private issue(row: SessionRow, grants: SubjectGrants, jkt: string | undefined): IssuedAccessToken {
    return this.tokens.issueAccessToken({
      subject: row.subject,
      dpop: jkt ? { jkt } : undefined,
      scopes: grants.scopes,
      roles: grants.roles,
      sessionId: row.id,
      authMethods: row.auth_methods,
      // OpenID Connect Core §2 `auth_time`, read by recent-authentication checks (RFC 9470 §4).
      claims: {
        auth_time: Number(row.auth_time),
        ...(row.auth_methods.some((method) => MFA_METHODS.includes(method)) ? { acr: MFA_ACR } : {}),
        [GRANTS_VERSION_CLAIM]: Number(row.grants_version),
      },
    });
  }

  private refreshPart(row: SessionRow, refreshToken: string): Pick<SessionTokens, 'refreshToken' | 'refreshExpiresIn' | 'sessionId'> {
    return {
      refreshToken,
      refreshExpiresIn: Math.max(0, Math.floor((new Date(row.expires_at).getTime() - this.clock.now()) / 1000)),
      sessionId: row.id,
    };
  }

  /** Drops what is known of a session, and any read of it in flight (its answer may predate the change). */
  private forget(sessionId: string): void {
    this.activity.delete(sessionId);
    this.reading.delete(sessionId);
  }

  private remember(sessionId: string, state: SessionState): void {
    this.reading.delete(sessionId);
    if (this.activity.size >= CACHE_LIMIT) this.activity.delete(this.activity.keys().next().value as string);
    this.activity.set(sessionId, { state, until: this.clock.now() + (this.config ? this.config.revocationCacheTtl * 1000 : 0) });
  }

  private broadcast(sessionId: string): void {
    this.store.publish?.(REVOCATION_CHANNEL, sessionId).catch(() => undefined);
  }

  private auditRevocation(subject: string, sessionId: string, reason: string): void {
    this.audit.publish({ type: 'session.revoked', outcome: 'success', reason, principal: { subject, sessionId } });
  }

  private resolveGrants(config: SessionsConfig): SessionGrants | undefined {
    const given = config.grants;
    if (given === undefined || isSessionGrants(given)) return given;
    let found: unknown;
    try {
      found = this.moduleRef.get(given as never, { strict: false });
    } catch {
      found = undefined;
    }
    if (!isSessionGrants(found)) {
      const name = typeof given === 'function' ? given.name : String(given);
      throw new ZeroTrustConfigurationError(
        `sessions.grants names ${name}, but no provider of the app answers to it with a grantsOf(subject) method: add it to a module's providers, or pass an object.`,
      );
    }
    return found;
  }

  private options(): SessionsConfig {
    if (this.config === false) {
      throw new ZeroTrustConfigurationError('SessionService needs the `sessions` option (e.g. `sessions: {}`) and the ZeroTrustSessions migrations.');
    }
    return this.config;
  }

  /** Inside a row-level-security transaction its manager is used: on PGlite a second connection would wait for it. */
  private async database(): Promise<Pick<DataSource, 'query'>> {
    const manager = RlsContext.manager();
    if (manager) return manager;
    return this.dataSources.get();
  }

  private listen(channel: string, what: string, listener: (message: string) => void): void {
    const subscription = this.store.subscribe?.(channel, listener);
    if (!subscription) return;
    let done = false;
    const late = setTimeout(() => {
      if (!done) this.logger.warn(`${what} are not broadcast yet (the store does not answer); other instances see them within revocationCacheTtl until it does`);
    }, 2000);
    late.unref();
    subscription.then(
      () => {
        done = true;
        clearTimeout(late);
      },
      (error: Error) => {
        done = true;
        clearTimeout(late);
        this.logger.warn(`${what} will not be broadcast (${error.message}); other instances see them within revocationCacheTtl`);
      },
    );
  }

  /**
   * A database error while starting, rotating or checking a session is the store's failure, not the
   * client's: 503 (the filter adds Retry-After), reported as `store.unavailable` at most every 10 s,
   * never as an `auth.failure`. HTTP and configuration errors pass through unchanged.
   */
  private storeFailure(error: unknown): unknown {
    if (error instanceof HttpException || error instanceof ZeroTrustConfigurationError) return error;
    const now = this.clock.now();
    this.failuresSinceReport++;
    if (now - this.lastFailureReport >= 10_000) {
      this.logger.error(`the session store failed ${this.failuresSinceReport} time(s): ${(error as Error)?.message ?? error}`);
      this.audit.publish({ type: 'store.unavailable', outcome: 'failure', reason: 'session_store', details: { failures: this.failuresSinceReport } });
      this.lastFailureReport = now;
      this.failuresSinceReport = 0;
    }
    return new SessionStoreUnavailable(error);
  }

  private async whileStoreAnswers<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw this.storeFailure(error);
    }
  }

  private lastFailureReport = Number.NEGATIVE_INFINITY;
  private failuresSinceReport = 0;
}

/** The explicit proof, else the one verified for the current request; anything else is refused. */
function proofOf(given: unknown): VerifiedDpopProof | undefined {
  if (given !== undefined && !isVerifiedDpopProof(given)) throw new TypeError('dpop must be the VerifiedDpopProof that DpopProofVerifier returned');
  return given ?? currentDpopProof();
}

/** Whether `token` may use the session in `state`: live, the token's subject, issuer and grants version. */
function verdict(state: SessionState, token: SessionBinding): boolean {
  return (
    state.live &&
    state.subject === token.subject &&
    // Sessions created before the binding migration carry no issuer; the check is for this issuer's tokens only.
    (state.issuer == null || state.issuer === token.issuer) &&
    grantsVersionOf(token.claims) === state.grantsVersion
  );
}

function grantsVersionOf(claims: Readonly<Record<string, unknown>>): number {
  const value = claims[GRANTS_VERSION_CLAIM];
  return value === undefined ? 0 : typeof value === 'number' && Number.isInteger(value) ? value : -1;
}

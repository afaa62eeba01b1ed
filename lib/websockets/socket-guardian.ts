import type { IncomingMessage } from 'node:http';
import { AuditService } from '../audit/audit.service.js';
import { AccessTokenRejection } from '../auth/access-token-rejection.js';
import { AccessTokenVerifier } from '../auth/access-token.verifier.js';
import type { AuthConfig } from '../auth/auth.options.js';
import { bearerToken, presentSocketToken } from '../auth/bearer-token.js';
import type { Clock } from '../core/clock.js';
import type { ZeroTrustPrincipal } from '../core/principal.interface.js';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';
import type { StoreFailurePolicy } from '../store/store-failure.policy.js';

/** What the WebSocket adapters enforce. Durations in seconds, sizes in bytes. */
export interface ZeroTrustWebSocketOptions {
  /**
   * Origins allowed to open a socket (`https://app.example.com`). A browser sends its page's origin with
   * every handshake, and a socket is not covered by CORS: without this check any site a user visits can
   * open a socket with the user's cookies (cross-site WebSocket hijacking). A handshake with no Origin
   * header (not a browser) is not refused on that ground. Required: `[]` allows no browser at all.
   */
  allowedOrigins: readonly string[];
  /** Seconds a socket opened without a token has to send `authenticate` before it is closed. Default 10. */
  authenticationTimeout?: number;
  /** Seconds between checks that each socket's session is still live (the revocation bound). Default 5. */
  revocationCheckInterval?: number;
  /** Messages a socket may send per window before it is closed. Default 60. */
  messageLimit?: number;
  /** Seconds of that window. Default 10. */
  messageWindow?: number;
  /** Largest message accepted, in bytes; the transport refuses bigger frames. Default 65536. */
  maxMessageBytes?: number;
}

export interface ResolvedWebSocketOptions {
  readonly allowedOrigins: ReadonlySet<string>;
  readonly authenticationTimeout: number;
  readonly revocationCheckInterval: number;
  readonly messageLimit: number;
  readonly messageWindow: number;
  readonly maxMessageBytes: number;
}

function positive(value: unknown, name: string, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > max) {
    throw new ZeroTrustConfigurationError(`webSockets.${name} must be a number above 0 and at most ${max} (got ${String(value)}).`);
  }
  return value;
}

const KNOWN = new Set(['allowedOrigins', 'authenticationTimeout', 'revocationCheckInterval', 'messageLimit', 'messageWindow', 'maxMessageBytes']);

export function resolveWebSocketOptions(given: ZeroTrustWebSocketOptions): ResolvedWebSocketOptions {
  if (!given || typeof given !== 'object') throw new ZeroTrustConfigurationError('webSockets options are required: at least { allowedOrigins: [...] }.');
  for (const key of Object.keys(given)) {
    if (!KNOWN.has(key)) throw new ZeroTrustConfigurationError(`webSockets.${key} is not an option (known: ${[...KNOWN].join(', ')}).`);
  }
  if (!Array.isArray(given.allowedOrigins) || given.allowedOrigins.some((origin) => typeof origin !== 'string' || origin === '*')) {
    throw new ZeroTrustConfigurationError('webSockets.allowedOrigins must list origins (e.g. "https://app.example.com"); "*" would allow cross-site WebSocket hijacking.');
  }
  return {
    allowedOrigins: new Set(given.allowedOrigins.map((origin) => origin.toLowerCase())),
    authenticationTimeout: positive(given.authenticationTimeout, 'authenticationTimeout', 10, 300),
    revocationCheckInterval: positive(given.revocationCheckInterval, 'revocationCheckInterval', 5, 300),
    messageLimit: positive(given.messageLimit, 'messageLimit', 60, 100_000),
    messageWindow: positive(given.messageWindow, 'messageWindow', 10, 3600),
    maxMessageBytes: positive(given.maxMessageBytes, 'maxMessageBytes', 65_536, 16 * 1024 * 1024),
  };
}

/** A socket, as either library exposes it: `ws` closes with a code, socket.io disconnects. */
type Closable = { close?: (code?: number, reason?: string) => void; disconnect?: (close?: boolean) => void; emit?: (...args: unknown[]) => unknown };

interface SocketEntry {
  principal?: ZeroTrustPrincipal;
  token?: string;
  expiry?: NodeJS.Timeout;
  deadline?: NodeJS.Timeout;
  windowStart: number;
  messages: number;
  closed: boolean;
}

/** RFC 6455 §7.4: 1008 "policy violation"; 4401/4403 are application codes a client can read. */
export const CLOSE_UNAUTHORIZED = 4401;
export const CLOSE_FORBIDDEN = 4403;
export const CLOSE_POLICY = 1008;

/**
 * The handshake and the lifetime of every socket: the Origin against the allow-list and the token
 * (Authorization header, or the first message) before the socket serves anything; then, for as long as
 * it is open, its session and token re-checked every `revocationCheckInterval` and at its expiry — a
 * socket whose session was revoked (logout, logout-all, changed grants, a disabled account) or whose
 * token expired is closed by the server, without waiting for its next message. A client re-authenticates
 * on the open socket by sending `authenticate` with a fresh token (same subject only).
 */
export class SocketGuardian {
  private readonly handshakes = new WeakMap<object, string>();
  private readonly sockets = new Map<object, SocketEntry>();
  private readonly sweep: NodeJS.Timeout;

  constructor(
    readonly options: ResolvedWebSocketOptions,
    private readonly verifier: AccessTokenVerifier,
    private readonly audit: AuditService,
    private readonly storeFailures: StoreFailurePolicy,
    private readonly clock: Clock,
    private readonly auth: AuthConfig,
  ) {
    this.sweep = setInterval(() => void this.recheck(), options.revocationCheckInterval * 1000);
    this.sweep.unref();
  }

  /**
   * The handshake (an HTTP upgrade, or socket.io's first request): refused for a foreign Origin, a
   * malformed or invalid Authorization header. Without a header it may proceed; the socket must then
   * authenticate with its first message. Query-string tokens are never read (URLs end up in logs).
   */
  async checkHandshake(request: IncomingMessage): Promise<{ ok: true } | { ok: false; status: 401 | 403 }> {
    const origin = request.headers.origin;
    if (typeof origin === 'string' && !this.options.allowedOrigins.has(origin.toLowerCase())) {
      this.audit.publish({ type: 'access.denied', outcome: 'denied', reason: 'origin_not_allowed', details: { transport: 'ws', origin: origin.slice(0, 200) } });
      return { ok: false, status: 403 };
    }
    const credentials = bearerToken(request);
    if (credentials.refused === 'missing_token') return { ok: true };
    if (credentials.refused || !(await this.verify(credentials.token, 'handshake'))) return { ok: false, status: 401 };
    this.handshakes.set(request, credentials.token);
    return { ok: true };
  }

  /** A socket opened: with the handshake's token (or socket.io's `auth.token`), else a deadline to authenticate. */
  async attach(socket: object, request: IncomingMessage | undefined, firstMessageToken?: unknown): Promise<void> {
    const entry: SocketEntry = { windowStart: this.clock.now(), messages: 0, closed: false };
    this.sockets.set(socket, entry);
    const token = (request && this.handshakes.get(request)) ?? (typeof firstMessageToken === 'string' ? firstMessageToken : undefined);
    if (token) {
      // At once, so a message that arrives while it is verified here is authenticated with it (the guard
      // verifies every message's token itself).
      presentSocketToken(socket, token);
      await this.authenticate(socket, token);
      return;
    }
    entry.deadline = setTimeout(() => {
      if (!entry.principal) this.close(socket, CLOSE_UNAUTHORIZED, 'authentication required');
    }, this.options.authenticationTimeout * 1000);
    entry.deadline.unref();
  }

  detach(socket: object): void {
    const entry = this.sockets.get(socket);
    if (!entry) return;
    entry.closed = true;
    clearTimeout(entry.expiry);
    clearTimeout(entry.deadline);
    this.sockets.delete(socket);
  }

  /**
   * `authenticate` on the socket: a fresh token replaces the one it holds (before it expires, or to open
   * a socket that connected without one). A token of another subject, or an invalid one, closes it.
   */
  async authenticate(socket: object, token: unknown): Promise<boolean> {
    const entry = this.sockets.get(socket);
    if (!entry || entry.closed) return false;
    const principal = typeof token === 'string' && token.length < 8192 ? await this.verify(token, 'message') : undefined;
    if (!principal || (entry.principal && entry.principal.ownerId !== principal.ownerId)) {
      this.close(socket, CLOSE_UNAUTHORIZED, 'authentication failed');
      return false;
    }
    clearTimeout(entry.deadline);
    entry.principal = principal;
    entry.token = token as string;
    presentSocketToken(socket, token as string);
    clearTimeout(entry.expiry);
    const remaining = (principal.expiresAt + this.auth.clockTolerance) * 1000 - this.clock.now();
    entry.expiry = setTimeout(() => this.close(socket, CLOSE_UNAUTHORIZED, 'token expired'), Math.max(0, Math.min(remaining, 2_147_000_000)));
    entry.expiry.unref();
    return true;
  }

  /** Counts one message of the socket; past the limit the socket is closed (a flood is not a client to serve). */
  admit(socket: object): boolean {
    const entry = this.sockets.get(socket);
    if (!entry || entry.closed) return false;
    const now = this.clock.now();
    if (now - entry.windowStart >= this.options.messageWindow * 1000) {
      entry.windowStart = now;
      entry.messages = 0;
    }
    if (++entry.messages <= this.options.messageLimit) return true;
    this.audit.publish({ type: 'rate_limit.exceeded', outcome: 'denied', reason: 'socket_messages', principal: entry.principal ? { subject: entry.principal.ownerId } : undefined });
    this.close(socket, CLOSE_POLICY, 'too many messages');
    return false;
  }

  /** The principal an open socket authenticated as, if it has. */
  principalOf(socket: object): ZeroTrustPrincipal | undefined {
    const entry = this.sockets.get(socket);
    return entry && !entry.closed ? entry.principal : undefined;
  }

  /** Open sockets, for tests and metrics. */
  get size(): number {
    return this.sockets.size;
  }

  /** Every socket's session and token again: revoked or expired ones are closed now, not at their next message. */
  async recheck(): Promise<void> {
    await Promise.all(
      [...this.sockets].map(async ([socket, entry]) => {
        if (!entry.principal || entry.closed) return;
        try {
          await this.verifier.assertStillValid(entry.principal);
        } catch (error) {
          if (!(error instanceof AccessTokenRejection)) {
            try {
              // A session store that cannot answer: `onStoreFailure.auth` decides (closed: the socket goes).
              this.storeFailures.handle(error, 'auth');
              return;
            } catch {
              this.close(socket, CLOSE_UNAUTHORIZED, 'session could not be verified');
              return;
            }
          }
          this.audit.publish({ type: 'auth.failure', outcome: 'failure', reason: error.reason, principal: { subject: entry.principal.ownerId, sessionId: entry.principal.sessionId }, details: { transport: 'ws', open: true } });
          this.close(socket, CLOSE_UNAUTHORIZED, error.reason === 'expired' ? 'token expired' : 'session revoked');
        }
      }),
    );
  }

  close(socket: object, code: number, reason: string): void {
    const entry = this.sockets.get(socket);
    if (entry?.closed) return;
    this.detach(socket);
    const closable = socket as Closable;
    if (typeof closable.disconnect === 'function') closable.disconnect(true);
    else closable.close?.(code, reason);
  }

  shutdown(): void {
    clearInterval(this.sweep);
    for (const socket of [...this.sockets.keys()]) this.detach(socket);
  }

  private async verify(token: string, stage: 'handshake' | 'message'): Promise<ZeroTrustPrincipal | undefined> {
    try {
      const principal = await this.verifier.verify(token);
      // No proof of possession travels with a socket: a sender-constrained (cnf) token would be a bearer
      // token here, so it is refused at the handshake and on re-authentication.
      if (principal.claims.cnf !== undefined) {
        this.audit.publish({ type: 'auth.failure', outcome: 'failure', reason: 'dpop_bound_token_as_bearer', details: { transport: 'ws', stage } });
        return undefined;
      }
      return principal;
    } catch (error) {
      if (!(error instanceof AccessTokenRejection)) throw error;
      this.audit.publish({ type: 'auth.failure', outcome: 'failure', reason: error.reason, details: { transport: 'ws', stage } });
      return undefined;
    }
  }
}

import type { ZeroTrustPrincipal } from '../core/principal.interface.js';

/** What the session check needs to know about the token that names a session: whose it is, and its claims. */
export type SessionBinding = Pick<ZeroTrustPrincipal, 'subject' | 'issuer' | 'claims'>;

/**
 * The session port of authentication: "may this token still use this login session?", asked on every
 * request for tokens of this app's own issuer that carry `sid`. The token is passed along so the
 * implementation can bind the session to its subject and issuer (a token minted for someone else must
 * not ride on another subject's session). The sessions feature implements it; without sessions, no
 * token is tied to one.
 */
export abstract class SessionCheck {
  /** Whether tokens of this app must name a live session. */
  abstract readonly enabled: boolean;
  abstract isActive(sessionId: string, token: SessionBinding): Promise<boolean>;

  /**
   * The same answer when it is known without I/O (the session's state cached and fresh), else
   * `undefined` and the caller asks `isActive`. Lets a request whose session was read within the last
   * `revocationCacheTtl` pass without a promise (issue 16). An implementation without a cache keeps
   * this default.
   */
  isActiveNow(_sessionId: string, _token: SessionBinding): boolean | undefined {
    return undefined;
  }
}

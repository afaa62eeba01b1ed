/**
 * The session port of authentication: "is this login session still live?", asked on every request for
 * tokens of this app's own issuer that carry `sid`. The sessions feature implements it; without
 * sessions, no token is tied to one.
 */
export abstract class SessionCheck {
  /** Whether tokens of this app must name a live session. */
  abstract readonly enabled: boolean;
  abstract isActive(sessionId: string): Promise<boolean>;
}

/** Sessions off: tokens are valid until they expire. */
export class NoSessionCheck extends SessionCheck {
  readonly enabled = false;
  async isActive(): Promise<boolean> {
    return true;
  }
}

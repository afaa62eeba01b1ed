/** The verified caller of a request, built only from a token whose every check passed. */
export interface ZeroTrustPrincipal {
  /** `sub`: the user or client id. */
  readonly subject: string;
  /** From `scope` (space-delimited, RFC 9068) or `scp`. */
  readonly scopes: readonly string[];
  /** `sid`: the login session the token belongs to, when it has one. */
  readonly sessionId?: string;
  /** `jti`. */
  readonly tokenId?: string;
  readonly issuer: string;
  /** `amr` (RFC 8176), e.g. `['pwd']` or `['pwd', 'otp']`. */
  readonly authMethods: readonly string[];
  /** `exp`, in seconds since the epoch. */
  readonly expiresAt: number;
  /** Every verified claim, for application-specific ones. */
  readonly claims: Readonly<Record<string, unknown>>;
}

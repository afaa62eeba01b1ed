/** The verified caller of a request, built only from a token whose every check passed. */
export interface ZeroTrustPrincipal {
  /** `sub`: the user or client id. */
  readonly subject: string;
  /** What the caller may do, mapped from the token's claims (`scope`, `scp`, Auth0 `permissions`...). */
  readonly scopes: readonly string[];
  /** Who the caller is in the app's role model, mapped from the token's claims (`roles`, Keycloak `realm_access.roles`...). */
  readonly roles: readonly string[];
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

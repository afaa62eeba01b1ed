/** The verified caller of a request, built only from a token whose every check passed. */
export interface ZeroTrustPrincipal {
  /** `sub`: the user or client id, unique only within its `issuer` (RFC 7519 §4.1.2). */
  readonly subject: string;
  /**
   * Who owns records created by this caller, and whose records it may touch: `subject` for this app's
   * own tokens, `<issuer>#<subject>` for an external issuer's. OpenID Connect Core §5.7: only `iss` and
   * `sub` together identify a user, so a provider whose `sub` equals a local user's id must not own that
   * user's records. (An issuer identifier has no fragment, OIDC Discovery §3, so the `#` is unambiguous;
   * `TokenService` never issues a subject of that form.) `@OwnsResource` and `OwnedRepository` compare it.
   */
  readonly ownerId: string;
  /**
   * What the caller may do, mapped from the token's claims (`scope`, `scp`, Auth0 `permissions`...). For
   * an external issuer, only the scopes its `allowedScopes` lists.
   */
  readonly scopes: readonly string[];
  /**
   * Who the caller is in the app's role model, mapped from the token's claims (`roles`, Keycloak
   * `realm_access.roles`...). For an external issuer, only the roles its `allowedRoles` lists.
   */
  readonly roles: readonly string[];
  /** `sid`: the login session the token belongs to, when it has one. */
  readonly sessionId?: string;
  /** `jti`. */
  readonly tokenId?: string;
  /** `iss`: this app's own issuer or one of its `externalIssuers`. */
  readonly issuer: string;
  /** `amr` (RFC 8176), e.g. `['pwd']` or `['pwd', 'otp']`. For an external issuer, only what its `trustAmr` accepts. */
  readonly authMethods: readonly string[];
  /** `exp`, in seconds since the epoch. */
  readonly expiresAt: number;
  /**
   * Every verified claim, for application-specific ones. Signed by the issuer, but for an external one
   * not vetted by this app's policy: authorize on `scopes`, `roles` and `authMethods`, not on these.
   */
  readonly claims: Readonly<Record<string, unknown>>;
}

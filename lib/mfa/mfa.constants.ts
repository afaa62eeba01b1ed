/** Metadata key of `@RequireMfa()`. */
export const REQUIRE_MFA_KEY = 'zero-trust:require-mfa';

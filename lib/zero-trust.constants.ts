/** Metadata keys, namespaced so they never collide with an application's own. */
export const IS_PUBLIC_KEY = 'zero-trust:public';
export const SECURITY_HEADERS_KEY = 'zero-trust:security-headers';

/** Response header that carries the id of every request (also in audit events and 5xx logs). */
export const REQUEST_ID_HEADER = 'X-Request-Id';
export const SCOPES_KEY = 'zero-trust:scopes';
export const ROLES_KEY = 'zero-trust:roles';
export const AUTHENTICATED_KEY = 'zero-trust:authenticated';
export const OWNS_RESOURCE_KEY = 'zero-trust:owns-resource';
export const SENSITIVE_FIELDS_KEY = 'zero-trust:sensitive-fields';
export const REQUIRE_MFA_KEY = 'zero-trust:require-mfa';
export const AUTH_THROTTLE_KEY = 'zero-trust:auth-throttle';
export const ROW_LEVEL_SECURITY_KEY = 'zero-trust:row-level-security';
export const USES_OWNED_REPOSITORY_KEY = 'zero-trust:uses-owned-repository';

/** The resolved authentication options (`AuthConfig`). */
export const AUTH_CONFIG = Symbol('zero-trust:auth-config');

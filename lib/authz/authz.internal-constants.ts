/** The resolved authorization options (`AuthzConfig`). */
export const AUTHZ_CONFIG = Symbol('zero-trust:authz-config');

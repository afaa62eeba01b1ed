/** The resolved session options (`SessionsConfig`, or `false` when sessions are off). */
export const SESSIONS_CONFIG = Symbol('zero-trust:sessions-config');

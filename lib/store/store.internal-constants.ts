/** The resolved store options (`StoreConfig`). */
export const STORE_CONFIG = Symbol('zero-trust:store-config');

/** The store instance (memory, Redis, or the app's own), shared by throttling, lockout and sessions. */
export const ZERO_TRUST_STORE = Symbol('zero-trust:store');

/** The resolved, validated options: what every provider reads (never the raw user input). */
export const ZERO_TRUST_CONFIG = Symbol('zero-trust:config');

/** Per-request state kept on the Node.js request object, out of reach of user-controlled keys. */
export const REQUEST_STATE = Symbol('zero-trust:request-state');

/** Where `@OwnsResource` leaves the record it loaded, for `@OwnedResource()`. */
export const LOADED_RESOURCE = Symbol('zero-trust:loaded-resource');

/** The store shared by rate limiting and lockout (memory or Redis). */
export const ZERO_TRUST_STORE = Symbol('zero-trust:store');

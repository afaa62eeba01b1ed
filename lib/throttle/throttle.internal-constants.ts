/** The resolved rate-limit and lockout options (`ThrottleConfig`). */
export const THROTTLE_CONFIG = Symbol('zero-trust:throttle-config');

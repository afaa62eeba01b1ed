/** Metadata key of `@AuthThrottle()`. */
export const AUTH_THROTTLE_KEY = 'zero-trust:auth-throttle';

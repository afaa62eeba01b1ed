/** Metadata key of `@SecurityHeaders()`. */
export const SECURITY_HEADERS_KEY = 'zero-trust:security-headers';

/** Response header that carries the id of every request (also in audit events and 5xx logs). */
export const REQUEST_ID_HEADER = 'X-Request-Id';

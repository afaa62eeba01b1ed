/** The resolved HTTP options (`HttpConfig`). */
export const HTTP_CONFIG = Symbol('zero-trust:http-config');

/** Metadata key of `@ApiKeyAuth()`: the scopes the route needs from the key. */
export const API_KEY_SCOPES_KEY = 'zero-trust:api-key-scopes';

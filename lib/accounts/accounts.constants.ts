/** Metadata key of `@RequireRecentAuth()`. */
export const RECENT_AUTH_KEY = 'zero-trust:recent-auth';

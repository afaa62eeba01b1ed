/** The resolved database options (`DatabaseConfig`). */
export const DATABASE_CONFIG = Symbol('zero-trust:database-config');

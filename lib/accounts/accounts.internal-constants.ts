/** The resolved accounts options (`AccountsConfig`, or `false` when the feature is off). */
export const ACCOUNTS_CONFIG = Symbol('zero-trust:accounts-config');

/**
 * The options object exactly as the app passed it to `forRoot()` / `forRootAsync()`, after the root
 * module checked its top-level names. Each feature reads only its own fields from it, through its
 * own schema, into its own token.
 */
export const ZERO_TRUST_RAW_OPTIONS = Symbol('zero-trust:raw-options');

/** The resolved core options (`CoreConfig`). */
export const CORE_CONFIG = Symbol('zero-trust:core-config');

/** The resolved shutdown options (`ShutdownConfig`). */
export const SHUTDOWN_CONFIG = Symbol('zero-trust:shutdown-config');

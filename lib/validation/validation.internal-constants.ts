/** The resolved validation options (`ValidationConfig`). */
export const VALIDATION_CONFIG = Symbol('zero-trust:validation-config');

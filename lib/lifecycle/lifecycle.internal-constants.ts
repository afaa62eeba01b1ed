/** The resolved lifecycle options (`LifecycleConfig`, or `false` when the feature is off). */
export const LIFECYCLE_CONFIG = Symbol('zero-trust:lifecycle-config');

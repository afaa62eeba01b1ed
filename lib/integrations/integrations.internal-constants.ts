/** DI token of the resolved `integrations` option. Internal: never exported from the package. */
export const INTEGRATIONS_CONFIG = Symbol('zero-trust:integrations-config');

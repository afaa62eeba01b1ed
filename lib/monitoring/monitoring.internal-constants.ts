/** The resolved monitoring options (`MonitoringConfig`). */
export const MONITORING_CONFIG = Symbol('zero-trust:monitoring-config');

/** The resolved audit options (`AuditConfig`). */
export const AUDIT_CONFIG = Symbol('zero-trust:audit-config');

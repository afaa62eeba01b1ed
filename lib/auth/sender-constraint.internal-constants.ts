/** DI token of the resolved `senderConstraint` options. Internal: never exported from the package. */
export const SENDER_CONSTRAINT_CONFIG = Symbol('zero-trust:sender-constraint-config');

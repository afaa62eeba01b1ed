/** Metadata key of `@RequireSenderConstraint()`. */
export const REQUIRE_SENDER_CONSTRAINT_KEY = 'zero-trust:require-sender-constraint';

import { SetMetadata } from '@nestjs/common';
import { REQUIRE_SENDER_CONSTRAINT_KEY } from './sender-constraint.constants.js';

/**
 * The route (or every route of the controller) accepts only sender-constrained tokens: a DPoP-bound
 * token with its proof (RFC 9449) or a certificate-bound one over its TLS certificate (RFC 8705). A
 * stolen bearer token is useless here. `@RequireSenderConstraint(false)`
 * exempts a route from the global `senderConstraint.require` (a token bound to a key still needs its proof there).
 */
export const RequireSenderConstraint = (required = true) => SetMetadata(REQUIRE_SENDER_CONSTRAINT_KEY, required);

import { SetMetadata } from '@nestjs/common';
import { ROLES_KEY } from './authz.constants.js';

/**
 * The caller's token `roles` claim must contain at least one of the listed roles. On a controller and
 * a handler, both apply: the caller needs one role of each list (a handler's `@Roles` narrows the
 * controller's, it never replaces it). Coarser than `@Scopes` or `@OwnsResource`; counts as the
 * route's authorization rule.
 */
export const Roles = (...roles: [string, ...string[]]) => SetMetadata(ROLES_KEY, roles);

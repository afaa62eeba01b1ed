import { SetMetadata } from '@nestjs/common';
import { ROLES_KEY } from './authz.constants.js';

/**
 * The caller's token `roles` claim must contain at least one of the listed roles. Coarser than
 * `@Scopes` or `@OwnsResource`; counts as the route's authorization rule.
 */
export const Roles = (...roles: [string, ...string[]]) => SetMetadata(ROLES_KEY, roles);

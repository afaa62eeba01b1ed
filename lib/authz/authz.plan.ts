import { PlanPart } from '../core/route-plan.js';
import { REQUIRE_MFA_KEY } from '../mfa/mfa.constants.js';
import { AUTHENTICATED_KEY, OWNS_RESOURCE_KEY, ROLES_KEY, SCOPES_KEY } from './authz.constants.js';
import type { OwnershipRule } from './owns-resource.decorator.js';

/** Everything a route declares about who may call it. */
export interface AuthzPlan {
  readonly scopes: readonly string[];
  /**
   * One list per level that declares `@Roles` (the controller's, then the handler's): the caller needs
   * one role of every list. A handler's `@Roles('user')` narrows a controller's `@Roles('admin')`,
   * never replaces it.
   */
  readonly roleGroups: ReadonlyArray<readonly string[]>;
  /** Every role named at either level, for reports; the check reads `roleGroups`. */
  readonly roles: readonly string[];
  readonly ownership?: OwnershipRule;
  readonly authenticated: boolean;
  readonly requireMfa: boolean;
  /** Whether the route declares any authorization rule at all. */
  readonly hasRule: boolean;
}

export const AUTHZ_PLAN = new PlanPart<AuthzPlan>('authorization', (route) => {
  // Scopes add up: a controller-level @Scopes and a handler-level one must both hold.
  const scopes = [...new Set(route.merge<string>(SCOPES_KEY))];
  // Roles add up the same way: each level is "any of its roles", and both levels must hold.
  const roleGroups = [route.controllerOwn<string[]>(ROLES_KEY), route.own<string[]>(ROLES_KEY)].filter(
    (group): group is string[] => group !== undefined && group.length > 0,
  );
  const roles = [...new Set(roleGroups.flat())];
  const ownership = route.own<OwnershipRule>(OWNS_RESOURCE_KEY);
  const authenticated = route.override<boolean>(AUTHENTICATED_KEY) === true;
  const requireMfa = route.override<boolean>(REQUIRE_MFA_KEY) === true;
  return {
    scopes,
    roleGroups,
    roles,
    ownership,
    authenticated,
    requireMfa,
    hasRule: scopes.length > 0 || roles.length > 0 || ownership !== undefined || authenticated || requireMfa,
  };
});

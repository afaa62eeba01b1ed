import { PlanPart } from '../core/route-plan.js';
import { REQUIRE_MFA_KEY } from '../mfa/mfa.constants.js';
import { AUTHENTICATED_KEY, OWNS_RESOURCE_KEY, ROLES_KEY, SCOPES_KEY } from './authz.constants.js';
import type { OwnershipRule } from './owns-resource.decorator.js';

/** Everything a route declares about who may call it. */
export interface AuthzPlan {
  readonly scopes: readonly string[];
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
  const roles = route.override<string[]>(ROLES_KEY) ?? [];
  const ownership = route.own<OwnershipRule>(OWNS_RESOURCE_KEY);
  const authenticated = route.override<boolean>(AUTHENTICATED_KEY) === true;
  const requireMfa = route.override<boolean>(REQUIRE_MFA_KEY) === true;
  return {
    scopes,
    roles,
    ownership,
    authenticated,
    requireMfa,
    hasRule: scopes.length > 0 || roles.length > 0 || ownership !== undefined || authenticated || requireMfa,
  };
});

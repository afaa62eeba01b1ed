import { Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  AUTHENTICATED_KEY,
  IS_PUBLIC_KEY,
  OWNS_RESOURCE_KEY,
  REQUIRE_MFA_KEY,
  ROLES_KEY,
  ROW_LEVEL_SECURITY_KEY,
  SCOPES_KEY,
  USES_OWNED_REPOSITORY_KEY,
} from '../zero-trust.constants.js';
import type { OwnershipRule } from './owns-resource.decorator.js';

/** Everything a route declares about who may call it, read from its decorators. */
export interface RoutePolicy {
  readonly isPublic: boolean;
  readonly scopes: readonly string[];
  readonly roles: readonly string[];
  readonly ownership?: OwnershipRule;
  readonly authenticated: boolean;
  readonly requireMfa: boolean;
  /** Reads or writes owned rows (`@OwnsResource`, `@Owned`, `@RowLevelSecurity()`): runs under row-level security. */
  readonly touchesOwnedData: boolean;
  /** Whether the route declares any authorization rule at all. */
  readonly hasRule: boolean;
}

/**
 * The one place that reads authorization metadata. Policies are computed once per handler and
 * cached, so the request path does no reflection after the first call.
 */
@Injectable()
export class RoutePolicies {
  private readonly cache = new WeakMap<object, RoutePolicy>();

  constructor(private readonly reflector: Reflector) {}

  for(handler: object, controller: object): RoutePolicy {
    let policy = this.cache.get(handler);
    if (!policy) {
      policy = this.read(handler as () => unknown, controller as new () => unknown);
      this.cache.set(handler, policy);
    }
    return policy;
  }

  private read(handler: () => unknown, controller: new () => unknown): RoutePolicy {
    const targets = [handler, controller];
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, targets) === true;
    // Scopes add up: a controller-level @Scopes and a handler-level one must both hold.
    const scopes = [...new Set(this.reflector.getAllAndMerge<string[]>(SCOPES_KEY, targets) ?? [])];
    const roles = this.reflector.getAllAndOverride<string[]>(ROLES_KEY, targets) ?? [];
    const ownership = this.reflector.get<OwnershipRule | undefined>(OWNS_RESOURCE_KEY, handler);
    const authenticated = this.reflector.getAllAndOverride<boolean>(AUTHENTICATED_KEY, targets) === true;
    const requireMfa = this.reflector.getAllAndOverride<boolean>(REQUIRE_MFA_KEY, targets) === true;
    return {
      isPublic,
      scopes,
      roles,
      ownership,
      authenticated,
      requireMfa,
      touchesOwnedData:
        ownership !== undefined ||
        Reflect.getMetadata(USES_OWNED_REPOSITORY_KEY, handler) === true ||
        this.reflector.getAllAndOverride<boolean>(ROW_LEVEL_SECURITY_KEY, targets) === true,
      hasRule: scopes.length > 0 || roles.length > 0 || ownership !== undefined || authenticated || requireMfa,
    };
  }
}

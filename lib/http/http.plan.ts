import { PlanPart } from '../core/route-plan.js';
import { SECURITY_HEADERS_KEY } from './http.constants.js';
import { type ResolvedHeaders, resolveSecurityHeaders, type SecurityHeadersOptions } from './security-headers.js';

/** A route's `@SecurityHeaders()` (controller, then handler), resolved at boot; `null` when it has none. */
export const SECURITY_HEADERS_PLAN = new PlanPart<ResolvedHeaders | null>('security-headers', (route) => {
  const classLevel = route.controllerOwn<SecurityHeadersOptions>(SECURITY_HEADERS_KEY);
  const routeLevel = route.own<SecurityHeadersOptions>(SECURITY_HEADERS_KEY);
  if (!classLevel && !routeLevel) return null;
  const name = `${(route.controller as { name?: string }).name ?? 'controller'}.${(route.handler as { name?: string }).name ?? 'handler'}`;
  return resolveSecurityHeaders(
    { ...classLevel, ...routeLevel, custom: { ...classLevel?.custom, ...routeLevel?.custom } },
    { where: `@SecurityHeaders() of ${name}`, base: {}, alwaysRemoved: [] },
  );
});

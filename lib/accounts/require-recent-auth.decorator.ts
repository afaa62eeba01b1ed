import { applyDecorators, SetMetadata, UseGuards } from '@nestjs/common';
import { RECENT_AUTH_KEY } from './accounts.constants.js';
import type { RecentAuthRequirement } from './accounts.plan.js';
import { RecentAuthenticationGuard } from './recent-authentication.guard.js';

/**
 * The route changes how the account is protected (enrols or removes a second factor, changes the
 * password or e-mail): it needs an authentication of this session more recent than `maxAge` seconds
 * (default `accounts.reauthenticationMaxAge`, 300) and, for an account with MFA, one that proved the
 * factor. Otherwise 401 with the RFC 9470 challenge
 * `WWW-Authenticate: Bearer error="insufficient_user_authentication", error_description="…", max_age="300"`
 * (and `acr_values="mfa"` when the factor is demanded); the client reauthenticates
 * (`SignInService.reauthenticate`) and retries with the new token. A stolen access token alone, older
 * than `maxAge`, can no longer take the account over. Add it beside the route's authorization rule
 * (`@Authenticated()`...).
 */
export function RequireRecentAuth(options: RecentAuthRequirement = {}): MethodDecorator & ClassDecorator {
  if (options.maxAge !== undefined && !(typeof options.maxAge === 'number' && Number.isFinite(options.maxAge) && options.maxAge > 0 && options.maxAge <= 86_400)) {
    throw new TypeError(`@RequireRecentAuth({ maxAge }) takes a number of seconds from 1 to 86400 (got ${String(options.maxAge)})`);
  }
  return applyDecorators(SetMetadata(RECENT_AUTH_KEY, { ...options }), UseGuards(RecentAuthenticationGuard));
}

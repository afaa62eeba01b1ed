import { createParamDecorator, type ExecutionContext, UnauthorizedException } from '@nestjs/common';
import type { ZeroTrustPrincipal } from './principal.interface.js';

/**
 * The verified principal of the request. On a `@Public()` route without a token there is none, and
 * asking for it is an error rather than `undefined` that a handler might treat as "anyone".
 */
export const CurrentUser = createParamDecorator((_data: unknown, context: ExecutionContext): ZeroTrustPrincipal => {
  const principal = context.switchToHttp().getRequest<{ user?: ZeroTrustPrincipal }>().user;
  if (!principal) throw new UnauthorizedException();
  return principal;
});

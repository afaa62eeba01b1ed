import { createParamDecorator, type ExecutionContext, UnauthorizedException } from '@nestjs/common';
import type { ZeroTrustPrincipal } from '../core/principal.interface.js';
import { RequestContexts } from '../core/request-context.js';

/**
 * The verified principal of the request. On a `@Public()` route without a token there is none, and
 * asking for it is an error rather than `undefined` that a handler might treat as "anyone".
 */
export const CurrentUser = createParamDecorator((_data: unknown, context: ExecutionContext): ZeroTrustPrincipal => {
  const principal = RequestContexts.of(context.switchToHttp().getRequest<object>()).principal;
  if (!principal) throw new UnauthorizedException();
  return principal;
});

import { createParamDecorator, type ExecutionContext, UnauthorizedException } from '@nestjs/common';
import type { ZeroTrustPrincipal } from '../core/principal.interface.js';
import { contextOfExecution } from '../core/request-view.js';

/**
 * The verified principal of the request (or GraphQL field resolution, socket message, RPC message). On a `@Public()` route without a token there is none, and
 * asking for it is an error rather than `undefined` that a handler might treat as "anyone".
 */
export const CurrentUser = createParamDecorator((_data: unknown, context: ExecutionContext): ZeroTrustPrincipal => {
  const principal = contextOfExecution(context)?.principal;
  if (!principal) throw new UnauthorizedException();
  return principal;
});

import { createParamDecorator, type ExecutionContext, InternalServerErrorException } from '@nestjs/common';
import { rawRequest } from '../http/request-context.js';
import { LOADED_RESOURCE } from '../zero-trust.internal-constants.js';

/** The record `@OwnsResource` loaded and checked for this request. */
export const OwnedResource = createParamDecorator((_data: unknown, context: ExecutionContext): unknown => {
  const record = (rawRequest(context.switchToHttp().getRequest<object>()) as unknown as Record<symbol, unknown>)[LOADED_RESOURCE];
  if (record === undefined) {
    // A programming error, not a client one: the handler has no @OwnsResource rule.
    throw new InternalServerErrorException('@OwnedResource() used on a route without @OwnsResource()');
  }
  return record;
});

import { createParamDecorator, type ExecutionContext, InternalServerErrorException } from '@nestjs/common';
import { RequestContexts } from '../core/request-context.js';
import { loadedResource } from './loaded-resource.slot.js';

/** The record `@OwnsResource` loaded and checked for this request. */
export const OwnedResource = createParamDecorator((_data: unknown, context: ExecutionContext): unknown => {
  const record = loadedResource.get(RequestContexts.of(context.switchToHttp().getRequest<object>()));
  if (record === undefined) {
    // A programming error, not a client one: the handler has no @OwnsResource rule.
    throw new InternalServerErrorException('@OwnedResource() used on a route without @OwnsResource()');
  }
  return record;
});

import { createParamDecorator, type ExecutionContext, InternalServerErrorException } from '@nestjs/common';
import { contextOfExecution } from '../core/request-view.js';
import { loadedResource } from './loaded-resource.slot.js';

/** The record `@OwnsResource` loaded and checked for this request. */
export const OwnedResource = createParamDecorator((_data: unknown, context: ExecutionContext): unknown => {
  // The call's own context: one GraphQL alias never reads the record another alias loaded.
  const requestContext = contextOfExecution(context);
  const record = requestContext ? loadedResource.get(requestContext) : undefined;
  if (record === undefined) {
    // A programming error, not a client one: the handler has no @OwnsResource rule.
    throw new InternalServerErrorException('@OwnedResource() used on a route without @OwnsResource()');
  }
  return record;
});

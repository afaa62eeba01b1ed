import { ContextSlot } from '../core/request-context.js';

/** Where `@OwnsResource` leaves the record it loaded and checked, for `@OwnedResource()`. */
export const loadedResource = new ContextSlot<object>('zero-trust:loaded-resource');

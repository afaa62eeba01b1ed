import type { ZeroTrustPrincipal } from '../core/principal.interface.js';

/**
 * A subscription's events, only those of the subscriber: an event whose owner (`ownerOf`) is not the
 * principal's `ownerId`, or has none, is dropped before it is resolved, so no field of another owner's
 * record is ever sent. The owner is read from the event the server published, never from the client's
 * arguments. Ending the subscription (`return`) ends the source too.
 *
 * `@Authenticated() @Subscription(() => Note) noteChanged(@CurrentUser() user) {
 *   return ownedEvents(changes(), user, (event) => event.ownerId); }`
 */
export function ownedEvents<T>(source: AsyncIterable<T>, principal: Pick<ZeroTrustPrincipal, 'ownerId'>, ownerOf: (event: T) => string | undefined | null): AsyncIterableIterator<T> {
  const owner = principal?.ownerId;
  if (typeof owner !== 'string' || owner.length === 0) throw new TypeError('ownedEvents: an authenticated principal is required (mark the subscription @Authenticated() or @OwnsResource()).');
  const iterator = source[Symbol.asyncIterator]();
  return {
    async next(): Promise<IteratorResult<T>> {
      for (;;) {
        const result = await iterator.next();
        if (result.done) return result;
        if (ownerOf(result.value) === owner) return result;
      }
    },
    async return(value?: unknown): Promise<IteratorResult<T>> {
      await iterator.return?.(value);
      return { done: true, value: undefined };
    },
    async throw(error?: unknown): Promise<IteratorResult<T>> {
      if (iterator.throw) return iterator.throw(error);
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/**
 * The in-memory store is full of entries it may not evict (active locks and flags), so it refuses the
 * write instead of dropping one. Callers treat it like an unreachable store: `onStoreFailure` decides.
 */
export class MemoryStoreFullError extends Error {
  constructor(maxKeys: number) {
    super(
      `The in-memory store holds maxKeys=${maxKeys} active locks and flags, which it never evicts: ` +
        'raise maxKeys (new MemoryStore({ maxKeys })) or use Redis (store: "redis://...").',
    );
    this.name = 'MemoryStoreFullError';
  }
}

/**
 * The store port and its in-memory implementation, where the public API and existing imports find them
 * (the port lives in `zero-trust-store.port.ts` so `memory.store.ts` can implement it without a cycle).
 */
export type { AttemptFailure, AttemptKeys, AttemptPolicy, ThrottleResult, ZeroTrustStore } from './zero-trust-store.port.js';
export { MemoryStore } from './memory.store.js';

import { custom, object, oneOf, section, string } from '../core/option-schema.js';
import type { ZeroTrustStore } from './zero-trust-store.js';

/** Any ioredis client (typed loosely so the package does not require ioredis unless it is used). */
export interface RedisClientLike {
  defineCommand(name: string, definition: { numberOfKeys: number; lua: string }): void;
  status: string;
}

export type FailureMode = 'closed' | 'open';

export interface StoreOptions {
  /**
   * Shared state for several instances (rate limits, lockouts, revocation broadcasts): a `redis://`
   * URL, an ioredis client, or an object implementing `ZeroTrustStore`. Default: in memory (one process).
   */
  store?: string | RedisClientLike | ZeroTrustStore;
  /** Prefix of every key the module writes to Redis. Default `zt:`. */
  storeKeyPrefix?: string;
  /** When the store cannot be reached, per endpoint kind: refuse (`closed`, 503) or let through (`open`). */
  onStoreFailure?: {
    /** `@AuthThrottle()` routes and lockout checks. Default `closed`. */
    auth?: FailureMode;
    /** Every other route. Default `open`. */
    default?: FailureMode;
  };
}

/** Every method of the port, the atomic lockout steps included: a store without them cannot lock safely. */
const STORE_METHODS = ['throttle', 'increment', 'ttl', 'set', 'delete', 'close', 'beginAttempt', 'failAttempt'] as const;

const isStore = (value: object): value is ZeroTrustStore =>
  STORE_METHODS.every((method) => typeof (value as Record<string, unknown>)[method] === 'function');

export type StoreChoice = { kind: 'memory' } | { kind: 'redis-url'; url: string } | { kind: 'redis-client'; client: RedisClientLike } | { kind: 'custom'; store: ZeroTrustStore };

export const storeOptionsSchema = object({
  store: custom<StoreChoice>(`a redis:// or rediss:// URL, an ioredis client, or a ZeroTrustStore (methods ${STORE_METHODS.join(', ')})`, (value) => {
    if (value === undefined) return { kind: 'memory' };
    if (typeof value === 'string') return /^rediss?:\/\//.test(value) ? { kind: 'redis-url', url: value } : undefined;
    if (value === null || typeof value !== 'object') return undefined;
    if (typeof (value as RedisClientLike).defineCommand === 'function') return { kind: 'redis-client', client: value as RedisClientLike };
    return isStore(value) ? { kind: 'custom', store: value } : undefined;
  }),
  storeKeyPrefix: string({ default: 'zt:' }),
  onStoreFailure: section({
    auth: oneOf(['closed', 'open'], { default: 'closed' }),
    default: oneOf(['closed', 'open'], { default: 'open' }),
  }),
});

export interface StoreConfig {
  readonly store: StoreChoice;
  readonly keyPrefix: string;
  readonly onStoreFailure: { readonly auth: FailureMode; readonly default: FailureMode };
}

export function resolveStoreOptions(raw: Record<string, unknown>): StoreConfig {
  const given = storeOptionsSchema.pick(raw);
  return { store: given.store, keyPrefix: given.storeKeyPrefix, onStoreFailure: given.onStoreFailure };
}

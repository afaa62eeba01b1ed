import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { Clock } from '../core/clock.js';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';
import { ZERO_TRUST_STORE } from './store.internal-constants.js';
import type { RedisClientLike, StoreConfig } from './store.options.js';
import { REDIS_CLIENT_OPTIONS, RedisStore } from './redis.store.js';
import { MemoryStore, type ZeroTrustStore } from './zero-trust-store.js';

/** Builds the store: Redis when asked (ioredis is loaded only then), the app's own, or memory. */
export async function createZeroTrustStore(config: StoreConfig, clock: Clock): Promise<ZeroTrustStore> {
  const choice = config.store;
  if (choice.kind === 'memory') return new MemoryStore({ clock });
  if (choice.kind === 'custom') return choice.store;
  let Redis: typeof import('ioredis').Redis;
  try {
    ({ Redis } = await import('ioredis'));
  } catch (error) {
    // Only a missing package gets the install hint: a broken ioredis install is worth seeing as it is.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') throw error;
    throw new ZeroTrustConfigurationError('the store option names Redis, but the ioredis package is not installed: npm install ioredis');
  }
  if (choice.kind === 'redis-url') return new RedisStore(new Redis(choice.url, REDIS_CLIENT_OPTIONS), config.keyPrefix, true);
  return new RedisStore(choice.client as RedisClientLike as InstanceType<typeof Redis>, config.keyPrefix, false);
}

/**
 * Opens and closes the store with the application. It closes at the last hook (`onApplicationShutdown`),
 * after the HTTP server stopped and its requests drained (GracefulShutdown): closed in `onModuleDestroy`,
 * as it was, it went while keep-alive requests were still served, which then ran without rate limits.
 */
@Injectable()
export class ZeroTrustStoreLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('ZeroTrustModule');

  constructor(@Inject(ZERO_TRUST_STORE) private readonly store: ZeroTrustStore) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.store instanceof RedisStore && !(await this.store.ready())) {
      // Not fatal: requests follow `onStoreFailure` until Redis answers, and the client keeps reconnecting.
      this.logger.warn('Redis is not reachable yet: rate limits and lockouts follow onStoreFailure until it is.');
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }
}

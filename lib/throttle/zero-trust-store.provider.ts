import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { ZERO_TRUST_STORE } from '../zero-trust.internal-constants.js';
import type { RedisClientLike, ResolvedZeroTrustConfig } from '../zero-trust.options.js';
import { REDIS_CLIENT_OPTIONS, RedisStore } from './redis.store.js';
import { MemoryStore, type ZeroTrustStore } from './zero-trust-store.js';

/** Builds the store: Redis when `redis` is set (ioredis is loaded only then), memory otherwise. */
export async function createZeroTrustStore(config: ResolvedZeroTrustConfig): Promise<ZeroTrustStore> {
  if (config.redis === undefined) return new MemoryStore();
  const { Redis } = await import('ioredis');
  if (typeof config.redis === 'string') return new RedisStore(new Redis(config.redis, REDIS_CLIENT_OPTIONS), config.redisKeyPrefix, true);
  return new RedisStore(config.redis as RedisClientLike as InstanceType<typeof Redis>, config.redisKeyPrefix, false);
}

/** Opens and closes the store with the application. */
@Injectable()
export class ZeroTrustStoreLifecycle implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('ZeroTrustModule');

  constructor(@Inject(ZERO_TRUST_STORE) private readonly store: ZeroTrustStore) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.store instanceof RedisStore && !(await this.store.ready())) {
      // Not fatal: requests follow `onStoreFailure` until Redis answers, and the client keeps reconnecting.
      this.logger.warn('Redis is not reachable yet: rate limits and lockouts follow onStoreFailure until it is.');
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.store.close();
  }
}

import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';

export type HttpPlatform = 'express' | 'fastify';

/** Builds the sample on either HTTP adapter; `main.ts` and the e2e tests share it. */
export async function createSampleApp(platform: HttpPlatform = 'express', logger = true): Promise<INestApplication> {
  // abortOnError: false lets a boot failure reach the caller (main prints it; tests see it) instead of process.abort().
  const options = { logger: logger ? undefined : (false as const), abortOnError: false };
  if (platform === 'fastify') {
    const { FastifyAdapter } = await import('@nestjs/platform-fastify');
    const app = await NestFactory.create(AppModule, new FastifyAdapter({ bodyLimit: 100 * 1024 }), options);
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    return app;
  }
  const app = await NestFactory.create(AppModule, options);
  await app.init();
  return app;
}

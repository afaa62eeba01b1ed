import { type INestApplication, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { zeroTrustWebSocketAdapter } from 'nestjs-zero-trust';
import { AppModule } from './app.module.js';
import { NotesGraphqlModule } from './notes/notes-graphql.module.js';

export type HttpPlatform = 'express' | 'fastify';

/** Builds the sample on either HTTP adapter; `main.ts` and the e2e tests share it. */
export async function createSampleApp(platform: HttpPlatform = 'express', logger = true): Promise<INestApplication> {
  // abortOnError: false lets a boot failure reach the caller (main prints it; tests see it) instead of process.abort().
  const options = { logger: logger ? undefined : (false as const), abortOnError: false };
  if (platform === 'fastify') {
    const { FastifyAdapter } = await import('@nestjs/platform-fastify');
    const app = await NestFactory.create(withGraphql('fastify'), new FastifyAdapter({ bodyLimit: 100 * 1024 }), options);
    await useZeroTrustWebSockets(app, []);
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    return app;
  }
  const app = await NestFactory.create(withGraphql('express'), options);
  // graphql-ws answers the upgrades of `/graphql` (subscriptions); the gateway's adapter leaves them to it.
  await useZeroTrustWebSockets(app, ['/graphql']);
  await app.init();
  return app;
}

/** The notes gateway's sockets: browsers only from `ZT_WS_ORIGINS` (comma-separated), tokens checked for the socket's life. */
async function useZeroTrustWebSockets(app: INestApplication, otherServerPaths: string[]): Promise<void> {
  const origins = (process.env.ZT_WS_ORIGINS ?? 'http://localhost:3000').split(',').map((origin) => origin.trim()).filter(Boolean);
  app.useWebSocketAdapter(await zeroTrustWebSocketAdapter(app, { library: 'ws', allowedOrigins: origins, otherServerPaths }));
}

/** The app with its GraphQL API, whose driver depends on the HTTP adapter (Apollo on Express, Mercurius on Fastify). */
function withGraphql(platform: HttpPlatform): new () => object {
  @Module({ imports: [AppModule, NotesGraphqlModule.forPlatform(platform)] })
  class SampleAppModule {}
  return SampleAppModule;
}

import { type DynamicModule, Module } from '@nestjs/common';
import { ApolloDriver } from '@nestjs/apollo';
import { MercuriusDriver } from '@nestjs/mercurius';
import { ModuleRef } from '@nestjs/core';
import { GraphQLModule } from '@nestjs/graphql';
import { TypeOrmModule } from '@nestjs/typeorm';
import { zeroTrustGraphql, zeroTrustGraphqlSubscriptions } from 'nestjs-zero-trust';
import { Note } from './note.entity.js';
import { NotesRealtimeModule } from './notes-realtime.module.js';
import { NotesResolver } from './notes.resolver.js';

/** The browsers allowed to open sockets: the same list as the notes gateway's (`ZT_WS_ORIGINS`). */
export const webSocketOrigins = (): string[] => (process.env.ZT_WS_ORIGINS ?? 'http://localhost:3000').split(',').map((origin) => origin.trim()).filter(Boolean);

/**
 * `/graphql`: Apollo on Express (with subscriptions over graphql-ws), Mercurius on Fastify (queries and
 * mutations). Mercurius's subscription server (`zeroTrustMercuriusSubscriptions`) is not enabled here: it
 * runs on @fastify/websocket, which routes every upgrade of the HTTP server through Fastify's router and
 * answers 404 to the notes gateway's `/notes/live`, so the two cannot share one server.
 */
@Module({})
export class NotesGraphqlModule {
  static forPlatform(platform: 'express' | 'fastify'): DynamicModule {
    return {
      module: NotesGraphqlModule,
      imports: [TypeOrmModule.forFeature([Note]), NotesRealtimeModule, platform === 'express' ? apollo() : mercurius()],
      providers: [NotesResolver],
    };
  }
}

function apollo(): DynamicModule {
  return GraphQLModule.forRootAsync({
    driver: ApolloDriver,
    inject: [ModuleRef],
    useFactory: async (moduleRef: ModuleRef) => {
      const graphql = await zeroTrustGraphql({ driver: 'apollo' });
      return { ...graphql, autoSchemaFile: true, subscriptions: await zeroTrustGraphqlSubscriptions(moduleRef, { allowedOrigins: webSocketOrigins() }, graphql) };
    },
  });
}

function mercurius(): DynamicModule {
  return GraphQLModule.forRootAsync({
    driver: MercuriusDriver,
    useFactory: async () => ({ ...(await zeroTrustGraphql({ driver: 'mercurius' })), autoSchemaFile: true }),
  });
}

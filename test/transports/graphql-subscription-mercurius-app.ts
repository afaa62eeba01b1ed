import { PGlite } from '@electric-sql/pglite';
import { type INestApplication, Module } from '@nestjs/common';
import { ModuleRef, NestFactory } from '@nestjs/core';
import { Resolver, Subscription } from '@nestjs/graphql';
import { GraphQLModule } from '@nestjs/graphql';
import { MercuriusDriver, type MercuriusDriverConfig } from '@nestjs/mercurius';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { TypeOrmModule, type TypeOrmModuleOptions } from '@nestjs/typeorm';
import {
  Authenticated,
  CurrentUser,
  exclusivePGliteDriver,
  ManualClock,
  ownedEvents,
  Scopes,
  zeroTrustGraphql,
  zeroTrustMercuriusSubscriptions,
  ZeroTrustModule,
  type ZeroTrustPrincipal,
  ZeroTrustSessionBinding1732000110000,
  ZeroTrustSessions1732000100000,
} from 'nestjs-zero-trust';
import { CaptureAuditSink } from '../support/capture-audit.sink.js';
import { changes, type NoteChange, SubNote, SubscriptionNotesResolver, subscriptionCalls } from './graphql-subscription-app.js';

export { changes, SubNote, subscriptionCalls };

/** A subscription behind a scope: a caller without `notes:audit` must be refused before its body runs. */
@Resolver(() => SubNote)
export class AuditedChangesResolver {
  static calls = 0;

  @Scopes('notes:audit')
  @Subscription(() => SubNote, { resolve: (change: NoteChange) => change })
  auditedChanges(@CurrentUser() user: ZeroTrustPrincipal) {
    AuditedChangesResolver.calls++;
    const source = (async function* () {})();
    return ownedEvents(source, user, (change: NoteChange) => change.ownerId);
  }

  /** Fails while it starts, with an internal detail a client must never see. */
  @Authenticated()
  @Subscription(() => SubNote)
  crashingChanges(): AsyncIterableIterator<NoteChange> {
    throw new Error('select * from secrets -- internal detail that must not leak');
  }
}

export const MERCURIUS_ORIGIN = 'https://app.test';
/** Short, so a revoked session's socket closes fast; the tests count sweeps, they do not time them. */
export const REVOCATION_CHECK_SECONDS = 0.2;

/**
 * The subscription app of the Apollo suite (same resolvers, same bus) on Fastify with Mercurius, wired
 * the way the README tells a user to: one `zeroTrustMercuriusSubscriptions` call. Its clock is a
 * `ManualClock`, so token expiry is reached by moving the clock, not by waiting.
 */
export async function createMercuriusSubscriptionApp(resolvers: Array<new () => object> = [SubscriptionNotesResolver, AuditedChangesResolver]) {
  const audit = new CaptureAuditSink();
  const clock = new ManualClock();
  const pglite = await PGlite.create();
  @Module({
    imports: [
      TypeOrmModule.forRoot({
        type: 'postgres',
        driver: exclusivePGliteDriver(pglite),
        entities: [SubNote],
        synchronize: true,
        migrations: [ZeroTrustSessions1732000100000, ZeroTrustSessionBinding1732000110000],
        migrationsRun: true,
        retryAttempts: 0,
      } as TypeOrmModuleOptions),
      ZeroTrustModule.forRoot({
        issuer: 'https://issuer.test',
        audience: 'gql-sub',
        auditSinks: [audit],
        anomalyRules: false,
        databasePrivileges: 'off',
        clockTolerance: 0,
        sessions: {},
        clock,
      }),
      GraphQLModule.forRootAsync<MercuriusDriverConfig>({
        driver: MercuriusDriver,
        inject: [ModuleRef],
        useFactory: async (moduleRef: ModuleRef) => {
          const graphql = await zeroTrustGraphql({ driver: 'mercurius', maxDepth: 4 });
          return {
            autoSchemaFile: true,
            ...graphql,
            ...(await zeroTrustMercuriusSubscriptions(moduleRef, { allowedOrigins: [MERCURIUS_ORIGIN], revocationCheckInterval: REVOCATION_CHECK_SECONDS, authenticationTimeout: 1 }, graphql)),
          };
        },
      }),
    ],
    providers: resolvers,
  })
  class MercuriusSubscriptionAppModule {}
  const app: INestApplication = await NestFactory.create(MercuriusSubscriptionAppModule, new FastifyAdapter(), { logger: false, abortOnError: false });
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  return { app, audit, clock, url: `ws://127.0.0.1:${address.port}/graphql` };
}


import { PGlite } from '@electric-sql/pglite';
import { type INestApplication, Module } from '@nestjs/common';
import { ModuleRef, NestFactory } from '@nestjs/core';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { Args, Field, GraphQLModule, ID, Mutation, ObjectType, Query, Resolver, Subscription } from '@nestjs/graphql';
import { TypeOrmModule, type TypeOrmModuleOptions } from '@nestjs/typeorm';
import { EventEmitter, on } from 'node:events';
import {
  Authenticated,
  CurrentUser,
  exclusivePGliteDriver,
  Owned,
  OwnedRepository,
  OwnedResource,
  OwnsResource,
  ownedEvents,
  Public,
  zeroTrustGraphql,
  zeroTrustGraphqlSubscriptions,
  ZeroTrustModule,
  type ZeroTrustPrincipal,
  ZeroTrustSessionBinding1732000110000,
  ZeroTrustSessions1732000100000,
} from 'nestjs-zero-trust';
import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { CaptureAuditSink } from '../support/capture-audit.sink.js';

@Entity('sub_notes')
@ObjectType('Note')
export class SubNote {
  @PrimaryColumn('uuid', { default: () => 'gen_random_uuid()' })
  @Field(() => ID)
  id!: string;

  @Index()
  @Column('varchar')
  @Field()
  ownerId!: string;

  @Column('varchar')
  @Field()
  title!: string;
}

/** What the server publishes on every change: the owner is the stored row's, never the caller's input. */
export type NoteChange = { id: string; ownerId: string; title: string };

/** The app's event bus (a PubSub in a real app); counts subscribe bodies so a refused one is seen not to run. */
export const changes = new EventEmitter();
export const subscriptionCalls = { noteChanged: 0, noteUpdated: 0 };

/** The bus's changes as an iterator whose `return` ends at once (a generator would wait for the next event). */
function changesOn(): AsyncIterableIterator<NoteChange> {
  const source = on(changes, 'change');
  return {
    next: async () => {
      const result = await source.next();
      return result.done ? result : { done: false, value: (result.value as [NoteChange])[0] };
    },
    return: async () => {
      await source.return?.();
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

@Resolver(() => SubNote)
export class SubscriptionNotesResolver {
  @Public()
  @Query(() => String)
  hello() {
    return 'hello';
  }

  @Public()
  @Query(() => String)
  crash(): string {
    throw new Error('select * from secrets -- internal detail that must not leak');
  }

  @OwnsResource(SubNote)
  @Mutation(() => SubNote)
  async renameNote(@Args('id', { type: () => ID }) _id: string, @Args('title') title: string, @Owned(SubNote) notes: OwnedRepository<SubNote>, @OwnedResource() note: SubNote) {
    const renamed = (await notes.update(note.id, { title }))!;
    changes.emit('change', { id: renamed.id, ownerId: renamed.ownerId, title: renamed.title } satisfies NoteChange);
    return renamed;
  }

  /** Every change of the caller's own notes, and of no one else's. */
  @Authenticated()
  @Subscription(() => SubNote, { resolve: (change: NoteChange) => change })
  noteChanged(@CurrentUser() user: ZeroTrustPrincipal) {
    subscriptionCalls.noteChanged++;
    return ownedEvents(changesOn(), user, (change) => change.ownerId);
  }

  /** The changes of one note, which the caller must own (another owner's id is NOT_FOUND, as for a query). */
  @OwnsResource(SubNote)
  @Subscription(() => SubNote, { resolve: (change: NoteChange) => change, filter: (change: NoteChange, args: { id: string }) => change.id === args.id })
  noteUpdated(@Args('id', { type: () => ID }) _id: string, @OwnedResource() _note: SubNote, @CurrentUser() user: ZeroTrustPrincipal) {
    subscriptionCalls.noteUpdated++;
    return ownedEvents(changesOn(), user, (change) => change.ownerId);
  }
}

export const SUBSCRIPTION_ORIGIN = 'https://app.test';

export async function createSubscriptionApp(resolvers: Array<new () => object> = [SubscriptionNotesResolver]) {
  const audit = new CaptureAuditSink();
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
        accessTokenTtl: 6,
        clockTolerance: 0,
        sessions: {},
      }),
      GraphQLModule.forRootAsync<ApolloDriverConfig>({
        driver: ApolloDriver,
        inject: [ModuleRef],
        useFactory: async (moduleRef: ModuleRef) => {
          const graphql = await zeroTrustGraphql({ driver: 'apollo', maxDepth: 4 });
          return {
            autoSchemaFile: true,
            ...graphql,
            subscriptions: await zeroTrustGraphqlSubscriptions(moduleRef, { allowedOrigins: [SUBSCRIPTION_ORIGIN], revocationCheckInterval: 1, authenticationTimeout: 2 }, graphql),
          };
        },
      }),
    ],
    providers: resolvers,
  })
  class SubscriptionAppModule {}
  const app: INestApplication = await NestFactory.create(SubscriptionAppModule, { logger: false, abortOnError: false });
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  return { app, audit, url: `ws://127.0.0.1:${address.port}/graphql`, http: `http://127.0.0.1:${address.port}` };
}

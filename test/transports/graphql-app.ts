import { Module } from '@nestjs/common';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { Args, Field, GraphQLModule, ID, Mutation, ObjectType, Query, ResolveField, Resolver, Root } from '@nestjs/graphql';
import { MercuriusDriver, type MercuriusDriverConfig } from '@nestjs/mercurius';
import { TypeOrmModule, type TypeOrmModuleOptions } from '@nestjs/typeorm';
import {
  Authenticated,
  CurrentUser,
  Owned,
  OwnedRepository,
  OwnedResource,
  OwnsResource,
  Public,
  Scopes,
  Sensitive,
  ZeroTrustModule,
  type ZeroTrustModuleOptions,
  type ZeroTrustPrincipal,
  zeroTrustGraphql,
  type ZeroTrustGraphqlOptions,
} from 'nestjs-zero-trust';
import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { PGliteDriver } from 'typeorm-pglite';
import { CaptureAuditSink } from '../support/capture-audit.sink.js';
import { bootstrapApp, type Platform } from '../support/test-app.js';

@Entity('gql_notes')
@ObjectType('Note')
export class GqlNote {
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

  /** Stored, never in the schema: a @Sensitive() field has no GraphQL field, so no query can select it. */
  @Sensitive()
  @Column('varchar', { default: 'secret-hash' })
  secretHash!: string;
}

/** Counts resolver bodies that ran, so tests can prove a refused call ran none. */
export const calls = { note: 0, rename: 0, secretTitle: 0 };

@Resolver(() => GqlNote)
export class NotesResolver {
  @Public()
  @Query(() => String)
  hello() {
    return 'hello';
  }

  @Authenticated()
  @Query(() => String)
  me(@CurrentUser() user: ZeroTrustPrincipal) {
    return user.subject;
  }

  @OwnsResource(GqlNote)
  @Query(() => GqlNote, { nullable: true })
  note(@Args('id', { type: () => ID }) _id: string, @OwnedResource() note: GqlNote) {
    calls.note++;
    return note;
  }

  @Authenticated()
  @Query(() => [GqlNote])
  notes(@Owned(GqlNote) notes: OwnedRepository<GqlNote>) {
    return notes.find({ order: { title: 'ASC' } });
  }

  @OwnsResource(GqlNote)
  @Mutation(() => GqlNote)
  renameNote(@Args('id', { type: () => ID }) _id: string, @Args('title') title: string, @Owned(GqlNote) notes: OwnedRepository<GqlNote>, @OwnedResource() note: GqlNote) {
    calls.rename++;
    return notes.update(note.id, { title });
  }

  @Public()
  @Query(() => String)
  crash(): string {
    throw new Error('select * from secrets -- internal detail that must not leak');
  }

  @Scopes('notes:audit')
  @ResolveField(() => String)
  auditTrail(@Root() note: GqlNote) {
    calls.secretTitle++;
    return `audit of ${note.id}`;
  }
}

export async function createGraphqlApp(
  platform: Platform,
  options: { module?: Partial<ZeroTrustModuleOptions>; graphql?: Partial<ZeroTrustGraphqlOptions>; resolvers?: Array<new () => object> } = {},
) {
  const audit = new CaptureAuditSink();
  const driver = platform === 'express' ? 'apollo' : 'mercurius';
  const graphql =
    driver === 'apollo'
      ? GraphQLModule.forRootAsync<ApolloDriverConfig>({
          driver: ApolloDriver,
          useFactory: async () => ({ autoSchemaFile: true, ...(await zeroTrustGraphql({ driver, ...options.graphql })) }),
        })
      : GraphQLModule.forRootAsync<MercuriusDriverConfig>({
          driver: MercuriusDriver,
          useFactory: async () => ({ autoSchemaFile: true, ...(await zeroTrustGraphql({ driver, ...options.graphql })) }),
        });
  @Module({
    imports: [
      ZeroTrustModule.forRoot({ issuer: 'https://issuer.test', audience: 'gql', auditSinks: [audit], anomalyRules: false, ...options.module }),
      TypeOrmModule.forRoot({ type: 'postgres', driver: new PGliteDriver().driver, entities: [GqlNote], synchronize: true, retryAttempts: 0 } as TypeOrmModuleOptions),
      graphql,
    ],
    providers: options.resolvers ?? [NotesResolver],
  })
  class GraphqlAppModule {}
  return { app: await bootstrapApp(GraphqlAppModule, platform), audit };
}

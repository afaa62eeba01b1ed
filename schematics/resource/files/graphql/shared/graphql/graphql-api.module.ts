import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { Module } from '@nestjs/common';
import { GraphQLModule } from '@nestjs/graphql';
import { zeroTrustGraphql } from 'nestjs-zero-trust';

/**
 * `/graphql` (Apollo on Express), code first, under the module's GraphQL settings: guards on resolve-fields
 * too, GraphQL Armor's depth/alias/cost limits, no batched operations, masked errors, and no introspection
 * or field suggestions in production. Every resolver of the app is served here, each with its own rules.
 */
@Module({
  imports: [
    GraphQLModule.forRootAsync<ApolloDriverConfig>({
      driver: ApolloDriver,
      useFactory: async () => ({ ...(await zeroTrustGraphql({ driver: 'apollo' })), autoSchemaFile: true }),
    }),
  ],
})
export class GraphqlApiModule {}

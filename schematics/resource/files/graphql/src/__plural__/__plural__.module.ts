import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { <%= className %> } from './<%= file %>.entity.js';
import { <%= pluralClass %>Resolver } from './<%= plural %>.resolver.js';

/** Served by GraphqlApiModule's `/graphql` (src/graphql/graphql-api.module.ts). */
@Module({
  imports: [TypeOrmModule.forFeature([<%= className %>])],
  providers: [<%= pluralClass %>Resolver],
})
export class <%= pluralClass %>Module {}

import { Args, ID, Mutation, Query, Resolver } from '@nestjs/graphql';
import { Authenticated, Owned, OwnedRepository, OwnedResource, OwnsResource } from 'nestjs-zero-trust';
import { randomUUID } from 'node:crypto';
import { <%= className %> } from './<%= file %>.entity.js';
import { Create<%= className %>Input, List<%= pluralClass %>Args, Update<%= className %>Input } from './<%= file %>.input.js';
import { <%= className %>Model } from './<%= file %>.model.js';

/**
 * Owner-only, the REST controller's rules over GraphQL: another user's <%= file %> is NOT_FOUND, exactly like
 * one that does not exist. Lookups by id are nullable so each alias of a batch reports its own error (each
 * alias is checked, and rate-limited, on its own).
 */
@Resolver(() => <%= className %>Model)
export class <%= pluralClass %>Resolver {
  @Authenticated()
  @Query(() => [<%= className %>Model], { name: '<%= pluralProperty %>' })
  async list(@Owned(<%= className %>) rows: OwnedRepository<<%= className %>>, @Args() args: List<%= pluralClass %>Args): Promise<<%= className %>Model[]> {
    return (await rows.find({ order: { createdAt: 'DESC' }, take: args.limit })).map(<%= className %>Model.of);
  }

  @OwnsResource(<%= className %>)
  @Query(() => <%= className %>Model, { name: '<%= property %>', nullable: true })
  get(@Args('id', { type: () => ID }) _id: string, @OwnedResource() row: <%= className %>): <%= className %>Model {
    return <%= className %>Model.of(row);
  }

  @Authenticated()
  @Mutation(() => <%= className %>Model, { name: 'create<%= className %>' })
  async create(@Owned(<%= className %>) rows: OwnedRepository<<%= className %>>, @Args('input') input: Create<%= className %>Input): Promise<<%= className %>Model> {
    return <%= className %>Model.of(await rows.create({ title: input.title }, randomUUID()));
  }

  @OwnsResource(<%= className %>)
  @Mutation(() => <%= className %>Model, { name: 'update<%= className %>', nullable: true })
  async update(
    @Args('id', { type: () => ID }) _id: string,
    @Args('input') input: Update<%= className %>Input,
    @Owned(<%= className %>) rows: OwnedRepository<<%= className %>>,
    @OwnedResource() row: <%= className %>,
  ): Promise<<%= className %>Model> {
    return <%= className %>Model.of((await rows.update(row.id, { title: input.title ?? row.title })) ?? row);
  }

  @OwnsResource(<%= className %>)
  @Mutation(() => Boolean, { name: 'delete<%= className %>', nullable: true })
  remove(@Args('id', { type: () => ID }) _id: string, @Owned(<%= className %>) rows: OwnedRepository<<%= className %>>, @OwnedResource() row: <%= className %>): Promise<boolean> {
    return rows.delete(row.id);
  }
}

import { Field, ID, ObjectType } from '@nestjs/graphql';
import type { <%= className %> } from './<%= file %>.entity.js';

/** A <%= file %> as GraphQL serves it: no owner id (the caller knows who it is), nothing a client could set. */
@ObjectType('<%= className %>')
export class <%= className %>Model {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  title!: string;

  @Field(() => Date)
  createdAt!: Date;

  @Field(() => Date)
  updatedAt!: Date;

  static of(row: <%= className %>): <%= className %>Model {
    return { id: row.id, title: row.title, createdAt: row.createdAt, updatedAt: row.updatedAt };
  }
}

import { ArgsType, Field, InputType, Int } from '@nestjs/graphql';
import { IsInt, IsOptional, IsString, Length, Min } from 'class-validator';

/**
 * No `id` or `ownerId`: GraphQL refuses a field its input type does not declare, and the module's global
 * pipe (whitelist, forbidNonWhitelisted) validates what it does declare.
 */
@InputType('Create<%= className %>Input')
export class Create<%= className %>Input {
  @Field(() => String)
  @IsString()
  @Length(1, 200)
  title!: string;
}

@InputType('Update<%= className %>Input')
export class Update<%= className %>Input {
  @Field(() => String, { nullable: true })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  title?: string;
}

/** Any size may be asked for; the OwnedRepository caps it at the module's maxPageSize. */
@ArgsType()
export class List<%= pluralClass %>Args {
  @Field(() => Int, { nullable: true })
  @IsOptional()
  @IsInt()
  @Min(1)
  limit?: number;
}

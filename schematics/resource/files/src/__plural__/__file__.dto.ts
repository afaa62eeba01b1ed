import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Length, Min } from 'class-validator';

/** No `id` or `ownerId`: the whitelist turns either into a 400 instead of a mass assignment. */
export class Create<%= className %>Dto {
  @IsString()
  @Length(1, 200)
  title!: string;
}

export class Update<%= className %>Dto {
  @IsOptional()
  @IsString()
  @Length(1, 200)
  title?: string;
}

/** Any size may be asked for; the OwnedRepository caps it at the module's maxPageSize. */
export class List<%= pluralClass %>Query {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  limit?: number;
}

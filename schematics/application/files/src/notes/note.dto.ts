import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Length, MaxLength, Min } from 'class-validator';

/** No `id` or `ownerId`: the whitelist turns either into a 400 instead of a mass assignment. */
export class CreateNoteDto {
  @IsString()
  @Length(1, 200)
  title!: string;

  @IsString()
  @MaxLength(10_000)
  body!: string;
}

export class UpdateNoteDto {
  @IsOptional()
  @IsString()
  @Length(1, 200)
  title?: string;

  @IsOptional()
  @IsString()
  @MaxLength(10_000)
  body?: string;
}

/** Any size may be asked for; the OwnedRepository caps it at the module's maxPageSize (100). */
export class ListNotesQuery {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  limit?: number;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  offset?: number;
}

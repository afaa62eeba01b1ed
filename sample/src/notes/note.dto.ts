import { IsOptional, IsString, Length, MaxLength } from 'class-validator';

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

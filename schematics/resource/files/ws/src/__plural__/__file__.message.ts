import { IsInt, IsOptional, IsString, IsUUID, Length, Min } from 'class-validator';

/**
 * Message payloads, validated by the module's global pipe (whitelist, forbidNonWhitelisted): an `ownerId`
 * or any other field a class does not declare refuses the message. `id` names the record; @OwnsResource
 * reads it and checks the caller owns the row before the handler runs.
 */
export class <%= className %>IdMessage {
  @IsUUID()
  id!: string;
}

export class Create<%= className %>Message {
  @IsString()
  @Length(1, 200)
  title!: string;
}

export class Update<%= className %>Message {
  @IsUUID()
  id!: string;

  @IsOptional()
  @IsString()
  @Length(1, 200)
  title?: string;
}

/** Any size may be asked for; the OwnedRepository caps it at the module's maxPageSize. */
export class List<%= pluralClass %>Message {
  @IsOptional()
  @IsInt()
  @Min(1)
  limit?: number;
}

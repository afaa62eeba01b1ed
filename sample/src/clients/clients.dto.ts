import { IsIn, IsOptional, IsString, Matches, MaxLength } from 'class-validator';

/** RFC 6749 §4.4.2 fields, as JSON (see ClientsController.token for why not form-encoded here). */
export class ClientCredentialsDto {
  @IsIn(['client_credentials'])
  grant_type!: string;

  @IsOptional()
  @IsString()
  @MaxLength(64)
  client_id?: string;

  @IsOptional()
  @IsString()
  @MaxLength(64)
  client_secret?: string;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  scope?: string;

  @IsOptional()
  @IsString()
  @MaxLength(100)
  client_assertion_type?: string;

  @IsOptional()
  @IsString()
  @MaxLength(4096)
  client_assertion?: string;
}

export class NewApiKeyDto {
  @IsString()
  @Matches(/^[\w .-]{1,100}$/)
  name!: string;
}

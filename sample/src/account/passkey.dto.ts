import { IsObject, IsOptional, IsString, MaxLength } from 'class-validator';

/** What `PublicKeyCredential.toJSON()` gives the page: checked by the library (@simplewebauthn/server), field by field. */
export class PasskeyResponseDto {
  @IsObject()
  credential!: Record<string, unknown> & { id: string };

  @IsOptional()
  @IsString()
  @MaxLength(64)
  name?: string;
}

import { ArrayMaxSize, IsArray, IsIn } from 'class-validator';

/** Every scope an operator may grant; anything else is refused with 400. */
export const GRANTABLE_SCOPES = ['audit:read', 'notes:admin', 'users:admin', 'metrics:read'] as const;

export class ScopesDto {
  @IsArray()
  @ArrayMaxSize(GRANTABLE_SCOPES.length)
  @IsIn(GRANTABLE_SCOPES, { each: true })
  scopes!: string[];
}

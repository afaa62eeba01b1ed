import { IsEmail, IsIn, IsOptional, IsString, Matches, MaxLength } from 'class-validator';

/** The actions that ask proof of work (`@ProofOfWork({ action })`). */
export const PROOF_OF_WORK_ACTIONS = ['register', 'password_reset', 'login'] as const;

export class ChallengeQueryDto {
  @IsIn(PROOF_OF_WORK_ACTIONS)
  action!: (typeof PROOF_OF_WORK_ACTIONS)[number];

  /** The account the work is for (login, reset): a flagged one gets a harder challenge. */
  @IsOptional()
  @IsString()
  @MaxLength(254)
  email?: string;
}

/** The password's own rules (length, common passwords) are the library's PasswordPolicy: its 400 says which. */
export class AccountRegisterDto {
  @IsEmail({}, { message: 'email must be an email address' })
  @MaxLength(254)
  email!: string;

  @IsString()
  @MaxLength(1024)
  password!: string;
}

export class VerifyAddressDto {
  @IsString()
  @Matches(/^[A-Za-z0-9_-]{43}$/, { message: 'token must be the token of the link' })
  token!: string;
}

export class ForgotPasswordDto {
  @IsEmail({}, { message: 'email must be an email address' })
  @MaxLength(254)
  email!: string;
}

export class ResetPasswordDto {
  @IsString()
  @Matches(/^[A-Za-z0-9_-]{43}$/, { message: 'token must be the token of the link' })
  token!: string;

  @IsString()
  @MaxLength(1024)
  password!: string;
}

export class AccountLoginDto {
  @IsString()
  @MaxLength(254)
  email!: string;

  @IsString()
  @MaxLength(128)
  password!: string;

  @IsOptional()
  @IsString()
  @MaxLength(32)
  otp?: string;
}

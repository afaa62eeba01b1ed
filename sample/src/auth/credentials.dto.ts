import { IsEmail, IsIn, IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';

export class RegisterDto {
  @IsEmail({}, { message: 'email must be an email address' })
  @MaxLength(254)
  email!: string;

  /** NIST SP 800-63B: length over composition rules; the upper bound stops hash-DoS. */
  @IsString()
  @MinLength(12)
  @MaxLength(128)
  password!: string;
}

export class LoginDto {
  @IsString()
  @MaxLength(254)
  email!: string;

  @IsString()
  @MaxLength(128)
  password!: string;

  /** A TOTP code, or a recovery code, for accounts with MFA. */
  @IsOptional()
  @IsString()
  @MaxLength(32)
  otp?: string;

  /** `cookie`: the refresh token goes into an HttpOnly `__Host-session_rt` cookie instead of the body. */
  @IsOptional()
  @IsIn(['body', 'cookie'])
  refreshTransport?: 'body' | 'cookie';
}

export class RefreshDto {
  @IsOptional()
  @IsString()
  @MaxLength(64)
  refreshToken?: string;
}

/** A step-up: the password, or for an account with MFA its current factor (a TOTP or a recovery code). */
export class ReauthenticateDto {
  @IsOptional()
  @IsString()
  @MaxLength(128)
  password?: string;

  @IsOptional()
  @IsString()
  @MaxLength(32)
  otp?: string;
}

export class ChangePasswordDto {
  @IsString()
  @MaxLength(128)
  currentPassword!: string;

  @IsString()
  @MinLength(12)
  @MaxLength(128)
  newPassword!: string;
}

export class MfaCodeDto {
  @IsString()
  @Matches(/^\d{6}$/, { message: 'code must be 6 digits' })
  code!: string;
}

import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { AuthThrottle, PasswordResetService, ProofOfWork, ProofOfWorkService, Public, RegistrationService, SignInService } from 'nestjs-zero-trust';
import { AccountLoginDto, AccountRegisterDto, ChallengeQueryDto, ForgotPasswordDto, ResetPasswordDto, VerifyAddressDto } from './account.dto.js';

/**
 * The account lifecycle, with the library's services: proof of work where bots script (account
 * creation, reset requests, logins after failures), enumeration-free registration with a verification
 * link, and password reset. Every answer here is the same for a known and an unknown address.
 */
@Controller('account')
export class AccountController {
  constructor(
    private readonly proofOfWork: ProofOfWorkService,
    private readonly registration: RegistrationService,
    private readonly passwordReset: PasswordResetService,
    private readonly signIn: SignInService,
  ) {}

  /** The ALTCHA challenge (the widget's `challengeurl`): HMAC-signed, expiring, for one action. */
  @Public()
  @AuthThrottle()
  @Get('challenge')
  challenge(@Query() query: ChallengeQueryDto) {
    return this.proofOfWork.challenge({ action: query.action, ...(query.email ? { account: query.email } : {}) });
  }

  /** 202 for a new and a taken address alike; the mailbox gets "confirm" or "someone tried to register". */
  @Public()
  @AuthThrottle()
  @ProofOfWork({ action: 'register', accountField: 'email' })
  @Post('register')
  @HttpCode(202)
  register(@Body() dto: AccountRegisterDto) {
    return this.registration.register(dto.email, dto.password);
  }

  @Public()
  @AuthThrottle()
  @Post('verify')
  @HttpCode(204)
  async verify(@Body() dto: VerifyAddressDto): Promise<void> {
    await this.registration.verify(dto.token);
  }

  /** 202 for a known and an unknown address alike; limited per address and per account name. */
  @Public()
  @AuthThrottle()
  @ProofOfWork({ action: 'password_reset', accountField: 'email' })
  @Post('password/forgot')
  @HttpCode(202)
  forgot(@Body() dto: ForgotPasswordDto) {
    return this.passwordReset.request(dto.email);
  }

  /** Sets the new password with the mailed token; every session of the account is revoked. */
  @Public()
  @AuthThrottle()
  @Post('password/reset')
  @HttpCode(204)
  async reset(@Body() dto: ResetPasswordDto): Promise<void> {
    await this.passwordReset.complete(dto.token, dto.password);
  }

  /** Login that asks proof of work once the client address has failed `failuresBeforeChallenge` times. */
  @Public()
  @AuthThrottle()
  @ProofOfWork({ action: 'login', afterFailures: true, accountField: 'email' })
  @Post('login')
  @HttpCode(200)
  login(@Body() dto: AccountLoginDto) {
    return this.signIn.login(dto.email, dto.password, dto.otp);
  }
}

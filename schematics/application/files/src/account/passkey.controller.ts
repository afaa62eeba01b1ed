import { BadRequestException, Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { Authenticated, AuthThrottle, CurrentUser, PasskeyService, Public, RequireRecentAuth, type ZeroTrustPrincipal } from 'nestjs-zero-trust';
import { UsersService } from '../users/users.service.js';
import { PasskeyResponseDto } from './passkey.dto.js';

/**
 * Passkeys: registered and removed under a recent authentication, used to sign in (first factor,
 * `amr` `hwk`/`swk`) or to step up inside a session (second factor, which `@RequireMfa()` accepts).
 * The browser side is `navigator.credentials.create()` / `.get()` with the options these routes answer.
 */
@Controller('account/passkeys')
export class PasskeyController {
  constructor(
    private readonly passkeys: PasskeyService,
    private readonly users: UsersService,
  ) {}

  @Authenticated()
  @RequireRecentAuth()
  @Post('registration-options')
  @HttpCode(200)
  async registrationOptions(@CurrentUser() user: ZeroTrustPrincipal) {
    return this.passkeys.registrationOptions(user, (await this.users.emailOf(user.subject)) ?? user.subject);
  }

  @Authenticated()
  @RequireRecentAuth()
  @AuthThrottle()
  @Post()
  register(@CurrentUser() user: ZeroTrustPrincipal, @Body() dto: PasskeyResponseDto) {
    return this.passkeys.register(user, dto.credential, dto.name);
  }

  @Authenticated()
  @Get()
  list(@CurrentUser() user: ZeroTrustPrincipal) {
    return this.passkeys.list(user.subject);
  }

  @Authenticated()
  @RequireRecentAuth()
  @Delete(':id')
  @HttpCode(204)
  async remove(@CurrentUser() user: ZeroTrustPrincipal, @Param('id') id: string): Promise<void> {
    if (!/^[A-Za-z0-9_-]{1,1366}$/.test(id)) throw new BadRequestException('id must be a credential id');
    await this.passkeys.remove(user, id);
  }

  @Public()
  @AuthThrottle()
  @Post('sign-in-options')
  @HttpCode(200)
  signInOptions() {
    return this.passkeys.signInOptions();
  }

  @Public()
  @AuthThrottle()
  @Post('sign-in')
  @HttpCode(200)
  signIn(@Body() dto: PasskeyResponseDto) {
    return this.passkeys.signIn(dto.credential);
  }

  @Authenticated()
  @AuthThrottle()
  @Post('step-up-options')
  @HttpCode(200)
  stepUpOptions(@CurrentUser() user: ZeroTrustPrincipal) {
    return this.passkeys.stepUpOptions(user);
  }

  @Authenticated()
  @AuthThrottle()
  @Post('step-up')
  @HttpCode(200)
  stepUp(@CurrentUser() user: ZeroTrustPrincipal, @Body() dto: PasskeyResponseDto) {
    return this.passkeys.stepUp(user, dto.credential);
  }
}

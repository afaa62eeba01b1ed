import { Body, Controller, HttpCode, Module, Post, UnauthorizedException } from '@nestjs/common';
import { IsString, MaxLength } from 'class-validator';
import { AccountLockoutService, AuthThrottle, Public, ZeroTrustModule, type ZeroTrustModuleOptions } from 'nestjs-zero-trust';
import { CaptureAuditSink } from '../support/capture-audit.sink.js';
import { bootstrapApp, type Platform, ProbeController } from '../support/test-app.js';

export const RIGHT_PASSWORD = 'the right password';

class LoginBody {
  @IsString()
  @MaxLength(254)
  email!: string;

  @IsString()
  @MaxLength(128)
  password!: string;
}

/** The login pattern the sample uses: a locked account answers exactly like a wrong password. */
@Controller('auth')
export class LoginController {
  constructor(private readonly lockout: AccountLockoutService) {}

  @Public()
  @AuthThrottle()
  @Post('login')
  @HttpCode(200)
  async login(@Body() body: LoginBody) {
    const locked = await this.lockout.isLocked(body.email);
    const valid = body.password === RIGHT_PASSWORD;
    if (locked || !valid) {
      if (!locked) await this.lockout.recordFailure(body.email);
      throw new UnauthorizedException('Invalid email or password');
    }
    await this.lockout.recordSuccess(body.email);
    return { ok: true };
  }
}

export async function createThrottleApp(platform: Platform, options: Partial<ZeroTrustModuleOptions>, listen = false) {
  const audit = new CaptureAuditSink();
  @Module({
    imports: [ZeroTrustModule.forRoot({ issuer: 'https://issuer.test', audience: 'probe-api', auditSinks: [audit], ...options })],
    controllers: [LoginController, ProbeController],
  })
  class ThrottleModule {}
  return { app: await bootstrapApp(ThrottleModule, platform, listen), audit };
}

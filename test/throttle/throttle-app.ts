import { Body, Controller, HttpCode, Injectable, Module, Post, UnauthorizedException } from '@nestjs/common';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { AccountLockoutService, AuthThrottle, Public, ZeroTrustModule, type ZeroTrustModuleOptions } from 'nestjs-zero-trust';
import { CaptureAuditSink } from '../support/capture-audit.sink.js';
import { bootstrapApp, type Platform, ProbeController } from '../support/test-app.js';

export const RIGHT_PASSWORD = 'the right password';
export const RIGHT_CODE = '123456';

class LoginBody {
  @IsString()
  @MaxLength(254)
  email!: string;

  @IsString()
  @MaxLength(128)
  password!: string;

  @IsOptional()
  @IsString()
  @MaxLength(16)
  code?: string;
}

/**
 * Stands in for the password hash (argon2 in the sample): counts the passwords actually checked, and can
 * hold every check until the test releases it, so a burst of parallel logins is lined up deterministically
 * (all in flight at once) without sleeping.
 */
@Injectable()
export class PasswordChecks {
  /** Passwords checked. */
  checked = 0;
  /** Logins refused by the lockout before any password was checked. */
  refused = 0;
  /** Checks waiting for `release()`. */
  waiting = 0;
  private gate?: { promise: Promise<void>; open: () => void };

  hold(): void {
    let open!: () => void;
    const promise = new Promise<void>((resolve) => (open = resolve));
    this.gate = { promise, open };
  }

  release(): void {
    this.gate?.open();
    this.gate = undefined;
  }

  async verify(password: string): Promise<boolean> {
    this.checked++;
    if (this.gate) {
      this.waiting++;
      await this.gate.promise;
      this.waiting--;
    }
    return password === RIGHT_PASSWORD;
  }
}

/**
 * The login pattern the sample uses: `begin()` reserves an attempt atomically with the lock check; a
 * refused attempt, a wrong password and a wrong second factor all answer exactly like a wrong password.
 */
@Controller('auth')
export class LoginController {
  constructor(
    private readonly lockout: AccountLockoutService,
    private readonly checks: PasswordChecks,
  ) {}

  @Public()
  @AuthThrottle()
  @Post('login')
  @HttpCode(200)
  async login(@Body() body: LoginBody) {
    // The app's directory: every login exists except the made-up ones the flood tests use.
    const known = !/^(flood|nobody)/.test(body.email);
    const attempt = await this.lockout.begin(body.email, { known });
    if (!attempt.allowed) {
      this.checks.refused++;
      throw new UnauthorizedException('Invalid email or password');
    }
    if (!(await this.checks.verify(body.password)) || (body.code !== undefined && body.code !== RIGHT_CODE)) {
      await attempt.fail();
      throw new UnauthorizedException('Invalid email or password');
    }
    await attempt.succeed();
    return { ok: true };
  }

  /** The earlier, non-atomic pattern (`isLocked`, `recordFailure`, `recordSuccess`), kept working. */
  @Public()
  @AuthThrottle()
  @Post('legacy-login')
  @HttpCode(200)
  async legacyLogin(@Body() body: LoginBody) {
    const locked = await this.lockout.isLocked(body.email);
    if (locked) this.checks.refused++;
    const valid = !locked && (await this.checks.verify(body.password));
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
    providers: [PasswordChecks],
  })
  class ThrottleModule {}
  const app = await bootstrapApp(ThrottleModule, platform, listen);
  return { app, audit, checks: app.get(PasswordChecks) };
}

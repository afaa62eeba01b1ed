/**
 * Attack: the per-route throttle plan reads @nestjs/throttler's `@Throttle()` metadata at boot and
 * keeps a value only when it is a number. @nestjs/throttler 6 documents `limit`, `ttl` and
 * `blockDuration` as `Resolvable<number>`: a function of the ExecutionContext. A route that tightens
 * its limit that way (`@Throttle({ default: { limit: () => 2, ttl: 60_000 } })`) silently falls back to
 * the app-wide default (100 per 60 s): a login/OTP/password-reset route believed to allow 2 tries gets 100.
 * The stock ThrottlerGuard resolves such values per request.
 */
import { Controller, Get, type INestApplication, Module } from '@nestjs/common';
import { Throttle } from '@nestjs/throttler';
import { Public, ZeroTrustModule } from 'nestjs-zero-trust';
import request from 'supertest';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { bootstrapApp, PLATFORMS } from '../support/test-app.js';

@Controller('otp')
class OtpController {
  @Public()
  @Throttle({ default: { limit: () => 2, ttl: () => 60_000 } })
  @Get('resolvable')
  resolvable() {
    return { ok: true };
  }

  @Public()
  @Throttle({ default: { limit: 2, ttl: 60_000 } })
  @Get('static')
  staticLimit() {
    return { ok: true };
  }
}

describe.each(PLATFORMS)('@Throttle() limits given as functions (%s)', (platform) => {
  let app: INestApplication;

  beforeAll(async () => {
    @Module({
      imports: [ZeroTrustModule.forRoot({ issuer: 'https://issuer.test', audience: 'review', auditSinks: [] })],
      controllers: [OtpController],
    })
    class ThrottleModule {}
    app = await bootstrapApp(ThrottleModule, platform);
  });
  afterAll(() => app?.close());

  it('control: a static @Throttle limit of 2 answers 429 on the third call', async () => {
    const server = app.getHttpServer();
    await request(server).get('/otp/static').expect(200);
    await request(server).get('/otp/static').expect(200);
    await request(server).get('/otp/static').expect(429);
  });

  it('honours a resolvable @Throttle limit of 2 (Resolvable<number>, documented by @nestjs/throttler) instead of the default 100', async () => {
    const server = app.getHttpServer();
    await request(server).get('/otp/resolvable').expect(200);
    await request(server).get('/otp/resolvable').expect(200);
    await request(server).get('/otp/resolvable').expect(429);
  });
});

import { Body, Controller, type ExecutionContext, Get, Injectable, Module, Post, UnauthorizedException, UseGuards } from '@nestjs/common';
import { IsString } from 'class-validator';
import {
  Authenticated,
  type AuditEvent,
  JwtAuthGuard,
  MemoryStore,
  Public,
  Scopes,
  TokenService,
  ZeroTrustModule,
  type ZeroTrustModuleOptions,
  type ZeroTrustStore,
  ZeroTrustValidationPipe,
} from 'nestjs-zero-trust';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { bootstrapApp, PLATFORMS } from '../support/test-app.js';

class NoteDto {
  @IsString() title!: string;
}

@Controller('guarded')
@UseGuards(JwtAuthGuard)
class ExplicitlyGuardedController {
  @Authenticated()
  @Get()
  get() {
    return { ok: true };
  }
}

@Controller()
class OrderController {
  @Scopes('reports:read')
  @Get('reports')
  reports() {
    return { ok: true };
  }

  @Public()
  @Post('notes')
  create(@Body() dto: NoteDto) {
    return dto;
  }
}

/** A subclass the way users write one: an extra rule on top of the module's checks. */
@Injectable()
class KioskAuthGuard extends JwtAuthGuard {
  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<{ headers: Record<string, string> }>();
    if (request.headers['x-kiosk'] === 'blocked') throw new UnauthorizedException();
    return super.canActivate(context);
  }
}

/** A store of the app's own, plugged in through the `store` option (the store port). */
class CountingStore extends MemoryStore implements ZeroTrustStore {
  calls = 0;
  override throttle(...args: Parameters<MemoryStore['throttle']>) {
    this.calls++;
    return super.throttle(...args);
  }
}

class FlushingSink {
  events: AuditEvent[] = [];
  flushed = false;
  closed = false;
  write(event: AuditEvent) {
    this.events.push(event);
  }
  async flush() {
    this.flushed = true;
  }
  async close() {
    this.closed = true;
  }
}

async function createApp(platform: (typeof PLATFORMS)[number], options: Partial<ZeroTrustModuleOptions> = {}, extras: Record<string, unknown> = {}) {
  @Module({
    imports: [ZeroTrustModule.forRoot({ issuer: 'https://issuer.test', audience: 'enhancers', anomalyRules: false, ...options, ...extras })],
    controllers: [ExplicitlyGuardedController, OrderController],
  })
  class AppModule {}
  const app = await bootstrapApp(AppModule, platform);
  return { app, token: (scopes: string[] = []) => app.get(TokenService).issueAccessToken({ subject: 'user-1', scopes }).accessToken };
}

describe.each(PLATFORMS)('injectable enhancers (%s)', (platform) => {
  it('boots and guards a controller that also says @UseGuards(JwtAuthGuard)', async () => {
    const { app, token } = await createApp(platform);
    try {
      await request(app.getHttpServer()).get('/guarded').expect(401);
      await request(app.getHttpServer()).get('/guarded').set('Authorization', `Bearer ${token()}`).expect(200);
    } finally {
      await app.close();
    }
  });

  it('runs a subclass of the authentication guard given as enhancers.authGuard, everywhere the guard runs', async () => {
    const { app, token } = await createApp(platform, {}, { enhancers: { authGuard: KioskAuthGuard } });
    try {
      expect(app.get(JwtAuthGuard)).toBeInstanceOf(KioskAuthGuard);
      const auth = { Authorization: `Bearer ${token()}` };
      await request(app.getHttpServer()).get('/guarded').set(auth).expect(200);
      await request(app.getHttpServer()).get('/guarded').set(auth).set('x-kiosk', 'blocked').expect(401);
      // The module's own checks still run inside the subclass.
      await request(app.getHttpServer()).get('/guarded').expect(401);
    } finally {
      await app.close();
    }
  });

  it('authenticates, then throttles, then authorizes, in that order', async () => {
    const { app, token } = await createApp(platform, { throttle: { default: { limit: 1 } } });
    try {
      const server = app.getHttpServer();
      // Anonymous callers are refused before any limit is counted: never 429 for them here.
      expect([(await request(server).get('/reports')).status, (await request(server).get('/reports')).status]).toEqual([401, 401]);
      // A signed-in caller without the scope is counted before the authorization check refuses.
      const auth = { Authorization: `Bearer ${token()}` };
      expect([(await request(server).get('/reports').set(auth)).status, (await request(server).get('/reports').set(auth)).status]).toEqual([403, 429]);
    } finally {
      await app.close();
    }
  });

  it('counts rate limits in a store of the app given as the store option', async () => {
    const store = new CountingStore();
    const { app, token } = await createApp(platform, { store });
    try {
      await request(app.getHttpServer()).get('/guarded').set('Authorization', `Bearer ${token()}`).expect(200);
      expect(store.calls).toBe(1);
    } finally {
      await app.close();
    }
    // The module closes what it was given at shutdown, like the stores it makes.
  });

  it('sends events to an added sink, keeps the logger sink, and flushes then closes the sink at shutdown', async () => {
    const sink = new FlushingSink();
    const { app } = await createApp(platform, { auditSinks: [sink] });
    await request(app.getHttpServer()).get('/guarded').expect(401);
    expect(sink.events.map((event) => event.type)).toEqual(['auth.failure']);
    await app.close();
    expect(sink).toMatchObject({ flushed: true, closed: true });
  });

  it('steps the validation pipe aside with enhancers.validationPipe: false (the app owns validation then)', async () => {
    const { app } = await createApp(platform, {}, { enhancers: { validationPipe: false } });
    try {
      const response = await request(app.getHttpServer()).post('/notes').send({ title: 'x', ownerId: 'someone' }).expect(201);
      expect(response.body).toEqual({ title: 'x', ownerId: 'someone' });
    } finally {
      await app.close();
    }
    const guarded = await createApp(platform);
    try {
      await request(guarded.app.getHttpServer()).post('/notes').send({ title: 'x', ownerId: 'someone' }).expect(400);
    } finally {
      await guarded.app.close();
    }
  });

  it('steps the exception filter aside with enhancers.exceptionFilter: false', async () => {
    const { app } = await createApp(platform, {}, { enhancers: { exceptionFilter: false } });
    try {
      const response = await request(app.getHttpServer()).get('/guarded').expect(401);
      // Nest's own filter answers: no X-Request-Id written by ours on the error path.
      expect(response.body).toEqual({ statusCode: 401, message: 'Unauthorized' });
    } finally {
      await app.close();
    }
  });
});

describe('enhancer options are checked', () => {
  it.each([
    ['a class that does not extend JwtAuthGuard', { authGuard: class NotAGuard {} }, /enhancers.authGuard must be a class extending JwtAuthGuard/],
    ['a misspelled enhancer', { authguard: KioskAuthGuard }, /unknown option "enhancers.authguard". Did you mean "authGuard"\?/],
    ['validationPipe: true', { validationPipe: true }, /enhancers.validationPipe must be false or a class/],
  ])('refuses %s', (_name, enhancers, error) => {
    expect(() => ZeroTrustModule.forRoot({ issuer: 'i', audience: 'a', enhancers } as never)).toThrow(error);
  });

  it('uses a subclass of the validation pipe', () => {
    class StrictPipe extends ZeroTrustValidationPipe {}
    const module = ZeroTrustModule.forRoot({ issuer: 'i', audience: 'a', enhancers: { validationPipe: StrictPipe } } as never);
    expect(module.providers).toContainEqual({ provide: ZeroTrustValidationPipe, useClass: StrictPipe });
  });
});

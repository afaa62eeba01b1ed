import { Body, Controller, Get, HttpCode, type INestApplication, Module, Post } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { IsString } from 'class-validator';
import {
  Authenticated,
  CurrentUser,
  ManualClock,
  Public,
  SessionService,
  ZeroTrustModule,
  type ZeroTrustPrincipal,
  ZeroTrustSessionBinding1732000110000,
  ZeroTrustSessions1732000100000,
} from 'nestjs-zero-trust';
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket, connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaptureAuditSink } from '../support/capture-audit.sink.js';
import { requirePostgresUrl } from '../support/services.js';
import { bootstrapApp, PLATFORMS } from '../support/test-app.js';

const pgUrl = requirePostgresUrl()!;

/**
 * A TCP proxy of the test's own in front of PostgreSQL: cutting it is a database outage for the app
 * (connections reset, new ones refused) without touching the shared server.
 */
class OutageProxy {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<void> {
    this.server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => socket.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async cut(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server!.close(resolve));
  }
}

class RefreshBody {
  @IsString() refreshToken!: string;
}

@Controller()
class SessionsController {
  constructor(private readonly sessions: SessionService) {}

  @Public()
  @Post('login')
  login() {
    return this.sessions.create('00000000-0000-4000-8000-000000000001', { scopes: [], authMethods: ['pwd'] });
  }

  @Public()
  @Post('refresh')
  @HttpCode(200)
  refresh(@Body() body: RefreshBody) {
    return this.sessions.rotate(body.refreshToken);
  }

  @Authenticated()
  @Get('me')
  me(@CurrentUser() user: ZeroTrustPrincipal) {
    return { subject: user.subject };
  }
}

describe.each(PLATFORMS)('a session-store outage (%s)', (platform) => {
  const database = `zt_outage_${randomBytes(5).toString('hex')}`;
  const target = new URL(pgUrl);
  const proxy = new OutageProxy({ host: target.hostname, port: Number(target.port || 5432) });
  const clock = new ManualClock();
  const audit = new CaptureAuditSink();
  const root = new pg.Client({ connectionString: pgUrl });
  let app: INestApplication;

  beforeAll(async () => {
    await root.connect();
    await root.query(`CREATE DATABASE ${database}`);
    const direct = new URL(pgUrl);
    direct.pathname = `/${database}`;
    const migrator = await new DataSource({ type: 'postgres', url: direct.toString(), migrations: [ZeroTrustSessions1732000100000, ZeroTrustSessionBinding1732000110000] }).initialize();
    await migrator.runMigrations();
    await migrator.destroy();
    await proxy.start();
    const viaProxy = new URL(direct);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    @Module({
      imports: [
        ZeroTrustModule.forRoot({
          issuer: 'https://issuer.test',
          audience: 'outage',
          clock,
          sessions: {},
          auditSinks: [audit],
          audit: { loggerSink: false },
          anomalyRules: false,
          databasePrivileges: 'off',
        }),
        TypeOrmModule.forRoot({ type: 'postgres', url: viaProxy.toString(), retryAttempts: 0, extra: { connectionTimeoutMillis: 500, max: 2 } }),
      ],
      controllers: [SessionsController],
    })
    class OutageModule {}
    app = await bootstrapApp(OutageModule, platform);
  });

  afterAll(async () => {
    await app?.close().catch(() => undefined);
    await root.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await root.end();
  });

  it('answers 503 with Retry-After (never 401) while the session store is down, and emits store.unavailable, not auth.failure', async () => {
    const server = app.getHttpServer();
    const login = await request(server).post('/login').expect(201);
    const auth = { Authorization: `Bearer ${login.body.accessToken}` };
    await request(server).get('/me').set(auth).expect(200);

    await proxy.cut();
    // Past the session cache's bound, so the next request must ask the store.
    clock.advance(1500);
    audit.clear();
    const me = await request(server).get('/me').set(auth);
    expect(me.status).toBe(503);
    expect(me.headers['retry-after']).toBe('5');
    expect(me.headers['www-authenticate']).toBeUndefined();
    expect(me.body).toEqual({ statusCode: 503, message: 'Service Unavailable', error: 'Service Unavailable' });
    // Login and refresh: 503 too, not 500.
    expect((await request(server).post('/login')).status).toBe(503);
    expect((await request(server).post('/refresh').send({ refreshToken: login.body.refreshToken })).status).toBe(503);
    const types = audit.events.map((event) => event.type);
    expect(types).not.toContain('auth.failure');
    expect(types).toContain('store.unavailable');
  });
});

import { Controller, Get, type INestApplication, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Public, ZeroTrustModule } from 'nestjs-zero-trust';
import { randomBytes } from 'node:crypto';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import pg from 'pg';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requirePostgresUrl } from '../support/services.js';
import { bootstrapApp, PLATFORMS } from '../support/test-app.js';

const pgUrl = requirePostgresUrl()!;

/**
 * A TCP proxy of the test's own in front of PostgreSQL that can stop forwarding while keeping every
 * connection open: the database hangs for the app (no reset, no refusal, just silence), which is what a
 * stalled server or a black-holed network looks like.
 */
class HangingProxy {
  private server?: Server;
  private hung = false;
  private readonly held = new Set<Socket>();
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<void> {
    this.server = createServer((client) => {
      this.held.add(client);
      client.on('close', () => this.held.delete(client));
      client.on('error', () => client.destroy());
      // A connection opened while hung is accepted and then never answered.
      if (this.hung) return;
      const upstream = connect(this.target.port, this.target.host);
      this.held.add(upstream);
      upstream.on('close', () => this.held.delete(upstream));
      upstream.on('error', () => upstream.destroy());
      client.on('data', (chunk) => this.hung || upstream.write(chunk));
      upstream.on('data', (chunk) => this.hung || client.write(chunk));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  hang(): void {
    this.hung = true;
  }

  async stop(): Promise<void> {
    for (const socket of this.held) socket.destroy();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

@Controller()
class ItemsController {
  constructor(private readonly dataSource: DataSource) {}

  @Public()
  @Get('count')
  async count() {
    return (await this.dataSource.query('SELECT count(*)::int AS n FROM items'))[0];
  }
}

/**
 * Issue 15, item 7: a hung database held every request as long as it hung. With the timeouts the
 * sample and generated projects set (statement_timeout on the server, query_timeout and
 * connectionTimeoutMillis in the driver), a request answers 503 with Retry-After instead.
 */
describe.each(PLATFORMS)('a hung database (%s)', (platform) => {
  const database = `zt_hang_${randomBytes(5).toString('hex')}`;
  const target = new URL(pgUrl);
  const proxy = new HangingProxy({ host: target.hostname, port: Number(target.port || 5432) });
  const root = new pg.Client({ connectionString: pgUrl });
  let direct: URL;
  let app: INestApplication;

  beforeAll(async () => {
    await root.connect();
    await root.query(`CREATE DATABASE ${database}`);
    direct = new URL(pgUrl);
    direct.pathname = `/${database}`;
    const setup = new pg.Client({ connectionString: direct.toString() });
    await setup.connect();
    await setup.query('CREATE TABLE items (id int PRIMARY KEY)');
    await setup.end();
    await proxy.start();
    const viaProxy = new URL(direct);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    @Module({
      imports: [
        ZeroTrustModule.forRoot({ issuer: 'https://issuer.test', audience: 'hang', auditSinks: [], audit: { loggerSink: false }, anomalyRules: false, databasePrivileges: 'off' }),
        TypeOrmModule.forRoot({
          type: 'postgres',
          url: viaProxy.toString(),
          retryAttempts: 0,
          // The same settings as the sample's DataSource, shortened for the test.
          extra: { statement_timeout: 300, query_timeout: 600, connectionTimeoutMillis: 600, idle_in_transaction_session_timeout: 1000, max: 2 },
        }),
      ],
      controllers: [ItemsController],
    })
    class HangModule {}
    app = await bootstrapApp(HangModule, platform);
  });

  afterAll(async () => {
    await app?.close().catch(() => undefined);
    await proxy.stop();
    await root.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await root.end();
  });

  it('answers 503 with Retry-After when a query waits on a lock past statement_timeout (SQLSTATE 57014)', async () => {
    const server = app.getHttpServer();
    await request(server).get('/count').expect(200, { n: 0 });
    const locker = new pg.Client({ connectionString: direct.toString() });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE items IN ACCESS EXCLUSIVE MODE');
      const hung = await request(server).get('/count');
      expect(hung.status).toBe(503);
      expect(hung.headers['retry-after']).toBe('5');
      expect(hung.body).toEqual({ statusCode: 503, message: 'Service Unavailable', error: 'Service Unavailable' });
    } finally {
      await locker.end();
    }
    await request(server).get('/count').expect(200);
  });

  it('answers 503 with Retry-After when the database stops answering, on a pooled connection and on a new one', async () => {
    const server = app.getHttpServer();
    await request(server).get('/count').expect(200);
    proxy.hang();
    // Two pooled connections wait for an answer that never comes (query_timeout), then new ones get
    // no startup reply (connectionTimeoutMillis): every request ends, each with a 503.
    const answers = await Promise.all([1, 2, 3].map(() => request(server).get('/count')));
    for (const answer of answers) {
      expect(answer.status).toBe(503);
      expect(answer.headers['retry-after']).toBe('5');
    }
    const later = await request(server).get('/count');
    expect(later.status).toBe(503);
  });
});

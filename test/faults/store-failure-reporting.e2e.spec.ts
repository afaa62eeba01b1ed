import { Body, Controller, Get, HttpCode, type INestApplication, type LoggerService, Module, Post, Req } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { IsString } from 'class-validator';
import { AuthThrottle, MetricsService, Public, ZeroTrustModule } from 'nestjs-zero-trust';
import { connect } from 'node:net';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaptureAuditSink } from '../support/capture-audit.sink.js';
import { type OwnRedis, startOwnRedis } from './own-services.js';

class LoginBody {
  @IsString() email!: string;
}

@Controller()
class ProbeController {
  @Public()
  @Get('open')
  open() {
    return { open: true };
  }

  /**
   * Work that fails once its client is gone, as a request's row-level-security transaction does (it is
   * rolled back when the response closes, and the handler's next query throws).
   */
  @Public()
  @Get('slow')
  async slow(@Req() request: { socket: { destroyed: boolean; once(event: string, listener: () => void): void } }) {
    if (!request.socket.destroyed) await new Promise<void>((resolve) => request.socket.once('close', resolve));
    throw new Error('the row-level-security transaction of this request has already ended');
  }

  @Public()
  @AuthThrottle()
  @Post('login')
  @HttpCode(200)
  login(@Body() body: LoginBody) {
    return { email: body.email };
  }
}

/** Every line the app logs, with its level and whether a stack came with it. */
class CapturingLogger implements LoggerService {
  readonly lines: Array<{ level: string; message: string; context?: string; stack: boolean }> = [];
  private push(level: string, message: unknown, rest: unknown[]) {
    const context = typeof rest.at(-1) === 'string' ? (rest.at(-1) as string) : undefined;
    const stack = rest.some((part) => typeof part === 'string' && /\n\s+at /.test(part));
    this.lines.push({ level, message: String(message), context, stack });
  }
  log(message: unknown, ...rest: unknown[]) { this.push('log', message, rest); }
  error(message: unknown, ...rest: unknown[]) { this.push('error', message, rest); }
  warn(message: unknown, ...rest: unknown[]) { this.push('warn', message, rest); }
  debug(message: unknown, ...rest: unknown[]) { this.push('debug', message, rest); }
  verbose(message: unknown, ...rest: unknown[]) { this.push('verbose', message, rest); }
}

/**
 * Issue 15, item 10: every 503 and every client abort logged an ERROR with a stack, and the store-failure
 * report shared one 10 s throttle across auth and non-auth endpoints, so the fail-closed side of an outage
 * was never reported once the fail-open side had been. Now: one line per incident and endpoint kind with
 * counts, no stack for faults that are not bugs, and metrics for each. The Redis here is the test's own.
 */
describe('reporting a store outage and client aborts', () => {
  let redis: OwnRedis;
  let app: INestApplication;
  const logger = new CapturingLogger();
  const audit = new CaptureAuditSink();

  beforeAll(async () => {
    redis = await startOwnRedis();
    @Module({
      imports: [
        ZeroTrustModule.forRoot({
          issuer: 'https://issuer.test',
          audience: 'reporting',
          store: redis.url,
          storeKeyPrefix: 'zt-reporting:',
          auditSinks: [audit],
          audit: { loggerSink: false },
          anomalyRules: false,
        }),
      ],
      controllers: [ProbeController],
    })
    class ReportingModule {}
    app = await NestFactory.create(ReportingModule, { logger, abortOnError: false });
    await app.listen(0, '127.0.0.1');
  }, 30_000);

  afterAll(async () => {
    await app?.close();
    redis?.kill();
  });

  it('15.10: one line per endpoint kind with counts, no stack for 503s, and the counts in the metrics', async () => {
    const server = app.getHttpServer();
    await request(server).get('/open').expect(200);
    redis.kill();
    for (let i = 0; i < 20; i++) {
      await request(server).get('/open').expect(200);
      await request(server).post('/login').send({ email: 'a@example.com' }).expect(503);
    }
    const storeLines = logger.lines.filter((line) => line.message.includes('The rate-limit store failed'));
    // Both sides of the outage are reported, each once (the rest within the window is counted, not logged).
    expect(storeLines.filter((line) => line.message.includes('failing open on default endpoints'))).toHaveLength(1);
    expect(storeLines.filter((line) => line.message.includes('failing closed on auth endpoints'))).toHaveLength(1);
    expect(storeLines.every((line) => line.level === 'warn' && !line.stack)).toBe(true);
    const reports = audit.events.filter((event) => event.type === 'store.unavailable');
    expect(reports.map((event) => event.reason).sort()).toEqual(['fail_closed', 'fail_open']);
    // 20 requests answered 503: not 20 ERROR lines with a stack, one WARN line for the incident.
    expect(logger.lines.filter((line) => line.level === 'error')).toEqual([]);
    expect(logger.lines.filter((line) => line.message.includes('answered 503'))).toHaveLength(1);

    const metrics = await app.get(MetricsService).metrics();
    expect(metrics).toContain('zt_store_failures_total{endpoints="auth",mode="closed"} 20');
    // The login route passes the default limit (fail open) before its own (fail closed): 40 and 20.
    expect(metrics).toContain('zt_store_failures_total{endpoints="default",mode="open"} 40');
    expect(metrics).toContain('zt_http_incidents_total{kind="unavailable:store_unavailable"} 20');
  });

  it('15.10: a request whose client went away is counted as a client abort, not logged as an error with a stack', async () => {
    const { port } = (app.getHttpServer().address() as { port: number });
    for (let i = 0; i < 3; i++) {
      await new Promise<void>((resolve) => {
        const socket = connect(port, '127.0.0.1', () => {
          socket.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
          setTimeout(() => {
            socket.destroy();
            resolve();
          }, 100);
        });
        socket.on('error', () => undefined);
      });
    }
    const deadline = Date.now() + 5000;
    let metrics = '';
    while (!metrics.includes('zt_http_incidents_total{kind="client_abort"} 3') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      metrics = await app.get(MetricsService).metrics();
    }
    expect(metrics).toContain('zt_http_incidents_total{kind="client_abort"} 3');
    expect(logger.lines.filter((line) => line.level === 'error')).toEqual([]);
  });
});

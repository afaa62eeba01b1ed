import { ConsoleLogger, Logger, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ZeroTrustModule } from 'nestjs-zero-trust';
import request from 'supertest';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ProbeController, TEST_AUDIENCE, TEST_ISSUER } from '../support/test-app.js';

/**
 * Issue 18.9: the default audit sink wrote each event's JSON inside Nest's text log line
 * (`[Nest] 123 - <date> WARN [ZeroTrustAudit] {...}`), which a log shipper cannot read as JSON. Now: one
 * JSON object per line on stdout, nothing around it, silenced like the rest of the app's log; Nest's
 * logger on request (`audit.loggerSink: 'nest'`).
 */
describe('the default audit sink writes JSON lines', () => {
  afterEach(() => vi.restoreAllMocks());

  async function stdoutOf(loggerSink: boolean | 'json' | 'nest' | undefined, logger: false | ('log' | 'warn' | 'error')[]) {
    @Module({ imports: [ZeroTrustModule.forRoot({ issuer: TEST_ISSUER, audience: TEST_AUDIENCE, ...(loggerSink === undefined ? {} : { audit: { loggerSink } }) })], controllers: [ProbeController] })
    class JsonLinesModule {}
    // `logger: false` drops Nest's static console logger for the whole process: each app starts from one.
    Logger.overrideLogger(new ConsoleLogger());
    const app = await NestFactory.create(JsonLinesModule, { logger, abortOnError: false });
    await app.init();
    const lines: string[] = [];
    const original = process.stdout.write.bind(process.stdout);
    vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: string | Uint8Array, ...rest: unknown[]) => {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      return original(chunk as string, ...(rest as []));
    }) as typeof process.stdout.write);
    try {
      // A forged token: one auth.failure event.
      await request(app.getHttpServer()).get('/me').set('Authorization', 'Bearer not.a.token').expect(401);
    } finally {
      vi.restoreAllMocks();
      await app.close();
    }
    return lines.filter((line) => line.includes('auth.failure'));
  }

  it('by default: each event is one line that is a JSON object and nothing else', async () => {
    const lines = await stdoutOf(undefined, ['log', 'warn', 'error']);
    expect(lines).toHaveLength(1);
    expect(lines[0].startsWith('{')).toBe(true);
    expect(JSON.parse(lines[0])).toMatchObject({ type: 'auth.failure', outcome: 'failure' });
  });

  it("is silenced with the app's log (logger: false), and follows its levels", async () => {
    expect(await stdoutOf('json', false)).toEqual([]);
    // A failure is a warning: an app logging errors only does not get it.
    expect(await stdoutOf(true, ['error'])).toEqual([]);
  });

  it("with loggerSink: 'nest', goes through Nest's logger (context ZeroTrustAudit); with false, nowhere", async () => {
    const [line] = await stdoutOf('nest', ['log', 'warn', 'error']);
    expect(line).toMatch(/\[ZeroTrustAudit\].*\{"/);
    expect(await stdoutOf(false, ['log', 'warn', 'error'])).toEqual([]);
  });

  it('refuses a loggerSink it does not know', async () => {
    @Module({ imports: [ZeroTrustModule.forRoot({ issuer: TEST_ISSUER, audience: TEST_AUDIENCE, audit: { loggerSink: 'pino' as never } })] })
    class UnknownSinkModule {}
    await expect(NestFactory.createApplicationContext(UnknownSinkModule, { logger: false, abortOnError: false })).rejects.toThrow(/audit\.loggerSink/);
  });
});

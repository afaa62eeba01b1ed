import { Logger, type LoggerService } from '@nestjs/common';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { type AuditEvent, BufferedAuditSink, LoggerAuditSink, TokenService } from 'nestjs-zero-trust';
import { sanitizeAuditValue } from '../../lib/audit/audit-event.sanitizer.js';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { es256, forgeToken, nowSeconds } from '../support/jwt-forge.js';
import { createProbeApp, TEST_AUDIENCE, TEST_ISSUER } from '../support/test-app.js';

class CaptureLogger implements LoggerService {
  readonly lines: string[] = [];
  log(message: string) { this.lines.push(message); }
  warn(message: string) { this.lines.push(message); }
  error(message: string) { this.lines.push(message); }
}

describe('audit content rules', () => {
  it('escapes control characters and line breaks, so user input cannot forge a log line', () => {
    expect(sanitizeAuditValue('a@x.io\n{"type":"auth.success"}\r\u2028')).toBe('a@x.io\\u000a{"type":"auth.success"}\\u000d\\u2028');
    expect(sanitizeAuditValue('x'.repeat(1000))).toHaveLength(257);
  });

  it('writes one line per event on the logger, whatever the values hold', async () => {
    const capture = new CaptureLogger();
    const { app } = await createProbeApp('express', { auditSinks: [new LoggerAuditSink(capture as unknown as Logger)] });
    try {
      const tokens = app.get(TokenService);
      const token = tokens.issueAccessToken({ subject: 'user\n{"type":"auth.success","principal":{"subject":"admin"}}' }).accessToken;
      await request(app.getHttpServer()).get('/me').set('Authorization', `Bearer ${token}`).expect(200);
      expect(capture.lines).toHaveLength(1);
      expect(capture.lines[0]).not.toMatch(/\n/);
      expect(JSON.parse(capture.lines[0]).principal.subject).toBe('user\\u000a{"type":"auth.success","principal":{"subject":"admin"}}');
    } finally {
      await app.close();
    }
  });

  it('never logs the token that was presented', async () => {
    const capture = new CaptureLogger();
    const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const { app } = await createProbeApp('express', { keys: [{ kid: 'k1', alg: 'ES256', privateKey: key.privateKey }], auditSinks: [new LoggerAuditSink(capture as unknown as Logger)] });
    try {
      const claims = { iss: TEST_ISSUER, aud: TEST_AUDIENCE, sub: 'u1', iat: nowSeconds(), exp: nowSeconds() + 60, jti: randomUUID() };
      const good = forgeToken({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' }, claims, es256(key.privateKey));
      const forged = forgeToken({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' }, { ...claims, sub: 'admin' }, es256(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey));
      await request(app.getHttpServer()).get('/me').set('Authorization', `Bearer ${good}`).expect(200);
      await request(app.getHttpServer()).get('/me').set('Authorization', `Bearer ${forged}`).expect(401);
      const logged = capture.lines.join('\n');
      for (const token of [good, forged]) for (const part of token.split('.')) expect(logged).not.toContain(part);
      expect(logged).toContain('"tokenSha256"');
    } finally {
      await app.close();
    }
  });
});

describe('BufferedAuditSink', () => {
  it('keeps requests off a slow sink: bounded queue, counted drops, loss reported', async () => {
    let release!: () => void;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    const written: AuditEvent[] = [];
    const sink = new BufferedAuditSink({ writeBatch: async (events) => { await blocked; written.push(...events); } }, { maxQueue: 20, batchSize: 5, flushInterval: 60 });
    const errors: string[] = [];
    const spy = Logger.prototype.error;
    Logger.prototype.error = function (message: unknown) { errors.push(String(message)); };
    const { app } = await createProbeApp('express', { auditSinks: [sink] });
    try {
      const token = app.get(TokenService).issueAccessToken({ subject: 'u1' }).accessToken;
      // The sink's writer never returns while these run: every request must still be answered.
      for (let i = 0; i < 60; i++) await request(app.getHttpServer()).get('/me').set('Authorization', `Bearer ${token}`).expect(200);
      const during = sink.stats();
      expect(during.queued).toBeLessThanOrEqual(20);
      expect(during.dropped).toBe(60 - 5 - during.queued);
      release();
      await sink.close();
      expect(sink.stats()).toMatchObject({ queued: 0, written: 60 - during.dropped, dropped: during.dropped, failed: 0 });
      expect(written).toHaveLength(60 - during.dropped);
      expect(errors.join('\n')).toMatch(new RegExp(`audit events lost so far: ${during.dropped} dropped`));
    } finally {
      Logger.prototype.error = spy;
      await app.close();
    }
  });

  it('counts a failed batch and keeps going', async () => {
    let calls = 0;
    const sink = new BufferedAuditSink({ writeBatch: async () => { if (calls++ === 0) throw new Error('database down'); } }, { batchSize: 2, flushInterval: 60 });
    const event = { type: 'auth.success', outcome: 'success', time: new Date().toISOString() } as AuditEvent;
    for (let i = 0; i < 4; i++) sink.write(event);
    await sink.close();
    expect(sink.stats()).toMatchObject({ written: 2, failed: 2, dropped: 0 });
  });
});

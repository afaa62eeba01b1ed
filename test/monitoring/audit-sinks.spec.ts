import { Logger, type LoggerService } from '@nestjs/common';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { type AuditEvent, AuditService, BufferedAuditSink, LoggerAuditSink, ManualClock, MemoryAuditSink, MetricsService, TokenService } from 'nestjs-zero-trust';
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
    const warnings: string[] = [];
    const spy = Logger.prototype.warn;
    Logger.prototype.warn = function (message: unknown) { warnings.push(String(message)); };
    const { app } = await createProbeApp('express', { auditSinks: [sink] });
    try {
      const token = app.get(TokenService).issueAccessToken({ subject: 'u1' }).accessToken;
      // The sink's writer never returns while these run: every request must still be answered.
      for (let i = 0; i < 60; i++) await request(app.getHttpServer()).get('/me').set('Authorization', `Bearer ${token}`).expect(200);
      const during = sink.stats();
      // The batch being written stays queued until the store took it.
      expect(during.queued).toBe(20);
      expect(during.dropped).toBe(60 - during.queued);
      release();
      await sink.close();
      expect(sink.stats()).toMatchObject({ queued: 0, written: 60 - during.dropped, dropped: during.dropped, failed: 0 });
      expect(written).toHaveLength(60 - during.dropped);
      // One line for the incident, not one per event: the first drop, then the count of the rest.
      const lines = warnings.filter((line) => line.includes('audit events dropped: the queue is full'));
      expect(lines.length).toBeLessThanOrEqual(2);
      expect(lines.join('\n')).toMatch(new RegExp(`×${during.dropped - 1} in the last 10 s, ${during.dropped} in all|×${during.dropped}$`));
    } finally {
      Logger.prototype.warn = spy;
      release();
      await app.close();
    }
  });

  it('counts a batch given up after its retries and keeps going', async () => {
    let calls = 0;
    const sink = new BufferedAuditSink({ writeBatch: async () => { if (calls++ === 0) throw new Error('database down'); } }, { batchSize: 2, flushInterval: 60, retries: 0 });
    const event = { type: 'auth.success', outcome: 'success', time: new Date().toISOString() } as AuditEvent;
    for (let i = 0; i < 4; i++) sink.write(event);
    await sink.close();
    expect(sink.stats()).toMatchObject({ written: 2, failed: 2, dropped: 0, retried: 0 });
  });

  it('15.6: refuses a misspelled or mistyped sink option instead of running without its spill file', () => {
    const writer = { writeBatch: async () => undefined };
    expect(() => new BufferedAuditSink(writer, { spillDirectroy: '/var/spill' } as never)).toThrow(/Did you mean "spillDirectory"\?/);
    expect(() => new BufferedAuditSink(writer, { spillDirectory: true } as never)).toThrow(/spillDirectory must be false or a directory path/);
    expect(() => new BufferedAuditSink(writer, { retries: -1 })).toThrow(/retries must be a whole number/);
  });

  it('15.6: retries a failed batch with backoff before anything is lost, and gives each event one id', async () => {
    const batches: AuditEvent[][] = [];
    let failures = 2;
    const sink = new BufferedAuditSink(
      { writeBatch: async (events) => { batches.push(events); if (failures-- > 0) throw new Error('database blip'); } },
      { batchSize: 10, flushInterval: 0.01, retries: 3, retryDelay: 0.01 },
    );
    for (let i = 0; i < 10; i++) sink.write({ type: 'auth.failure', outcome: 'failure', reason: `r${i}`, time: new Date().toISOString() });
    const deadline = Date.now() + 5000;
    while (sink.stats().written < 10 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    await sink.close();
    expect(sink.stats()).toMatchObject({ written: 10, retried: 20, failed: 0, dropped: 0, spilled: 0 });
    // The same events, with the same ids, each time: what makes a retried write idempotent.
    expect(batches).toHaveLength(3);
    expect(new Set(batches.flat().map((event) => event.id)).size).toBe(10);
    expect(batches[2].map((event) => event.id)).toEqual(batches[0].map((event) => event.id));
  });
});

/**
 * Issue 13, item 10 (second half): a flood of identical failures (one client wrote 17 769 audit rows in
 * 10 s) filled every sink: a ring buffer lost what came before it, a bounded queue what came after it.
 * Client-triggered failure events are now aggregated before the sinks: per window, the first
 * `maxIdentical` identical events (same type, reason, address, route, principal) and at most
 * `maxPerType` events of a type are written; the rest are counted into one summary event per
 * window. Listeners (metrics, anomaly rules) still see every event.
 */
describe('audit flood control', () => {
  const BAD = 'eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
  const floodOptions = (clock: ManualClock, sink: MemoryAuditSink | BufferedAuditSink) => ({
    clock,
    auditSinks: [sink],
    authFailureLimit: false as const,
    audit: { loggerSink: false, floodControl: { window: 60, maxIdentical: 5, maxPerType: 40 } },
  });

  it('13.10: a flood of identical failures is counted, and does not push the events before it out of a ring buffer', async () => {
    const clock = new ManualClock();
    const sink = new MemoryAuditSink(100);
    const { app } = await createProbeApp('express', floodOptions(clock, sink));
    try {
      const audit = app.get(AuditService);
      audit.publish({ type: 'principal.blocked', outcome: 'success', principal: { subject: 'https://idp#mallory' } });
      for (let i = 0; i < 300; i++) await request(app.getHttpServer()).get('/me').set('Authorization', `Bearer ${BAD}`).expect(401);
      expect(sink.query({ type: 'principal.blocked' })).toHaveLength(1);
      expect(sink.query({ type: 'auth.failure', limit: 1000 })).toHaveLength(5);
      // Every failure is still counted for metrics and tallies.
      expect(audit.tally().get('auth.failure')).toBe(300);
      expect(await app.get(MetricsService).metrics()).toMatch(/zt_auth_total\{outcome="failure",reason="missing_claim"\} 300/);

      // When the window ends, one event says how many were left out.
      clock.advance(61_000);
      audit.publish({ type: 'session.revoked', outcome: 'success', principal: { subject: 'u1' } });
      const [summary] = sink.query({ type: 'auth.failure', limit: 1 });
      expect(summary).toMatchObject({ type: 'auth.failure', outcome: 'failure', reason: 'missing_claim', ip: '127.0.0.1', route: '/me', details: { aggregated: 'identical', repeated: 295 } });
      expect(summary.requestId).toBeUndefined();
      expect(sink.query({ type: 'session.revoked' })).toHaveLength(1);
    } finally {
      await app.close();
    }
  });

  it('13.10: a flood cannot fill a bounded queue ahead of the events that follow it', async () => {
    let release!: () => void;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    const written: AuditEvent[] = [];
    const sink = new BufferedAuditSink({ writeBatch: async (events) => { await blocked; written.push(...events); } }, { maxQueue: 60, batchSize: 10, flushInterval: 60 });
    const clock = new ManualClock();
    const { app } = await createProbeApp('express', floodOptions(clock, sink));
    let closed = false;
    try {
      const audit = app.get(AuditService);
      // From many addresses, so no two are identical: the per-type cap holds them.
      for (let i = 0; i < 200; i++) audit.publish({ type: 'auth.failure', outcome: 'failure', reason: 'bad_signature', ip: `198.51.100.${i}` });
      audit.publish({ type: 'token.reuse_detected', outcome: 'denied', principal: { subject: 'u1', sessionId: 's1' } });
      expect(sink.stats().dropped).toBe(0);
      release();
      await app.close();
      closed = true;
      expect(written.filter((event) => event.type === 'token.reuse_detected')).toHaveLength(1);
      expect(written.filter((event) => event.type === 'auth.failure' && !event.details?.aggregated)).toHaveLength(40);
      // Shutdown writes what was still being counted.
      expect(written.find((event) => event.details?.aggregated === 'type')).toMatchObject({ type: 'auth.failure', details: { repeated: 160 } });
    } finally {
      release();
      if (!closed) await app.close();
    }
  });

  it('13.10: never aggregates what a client cannot repeat at will, and can be turned off', async () => {
    const clock = new ManualClock();
    const sink = new MemoryAuditSink(1000);
    const { app } = await createProbeApp('express', floodOptions(clock, sink));
    try {
      for (let i = 0; i < 50; i++) app.get(AuditService).publish({ type: 'session.revoked', outcome: 'success', principal: { subject: 'u1', sessionId: `s${i}` } });
      expect(sink.query({ type: 'session.revoked', limit: 1000 })).toHaveLength(50);
    } finally {
      await app.close();
    }
    const off = new MemoryAuditSink(1000);
    const second = await createProbeApp('express', { auditSinks: [off], authFailureLimit: false, audit: { loggerSink: false, floodControl: false } });
    try {
      for (let i = 0; i < 30; i++) await request(second.app.getHttpServer()).get('/me').expect(401);
      expect(off.query({ type: 'auth.failure', limit: 1000 })).toHaveLength(30);
    } finally {
      await second.app.close();
    }
  });

  it('13.10: refuses a mistyped flood-control option', async () => {
    await expect(createProbeApp('express', { audit: { floodControl: { maxIdentical: '5' } } } as never)).rejects.toThrow(/audit\.floodControl\.maxIdentical must be a whole number/);
    await expect(createProbeApp('express', { audit: { floodControll: false } } as never)).rejects.toThrow(/Did you mean "floodControl"/);
  });
});

import { type INestApplication, Module } from '@nestjs/common';
import {
  AuditService,
  type BufferedAuditSink,
  MetricsService,
  typeOrmAuditSink,
  ZeroTrustAuditEventId1732000210000,
  ZeroTrustAuditLog1732000200000,
  ZeroTrustModule,
} from 'nestjs-zero-trust';
import { appendFileSync, copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapApp } from '../support/test-app.js';
import { type OwnPostgres, startOwnPostgres } from './own-services.js';

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Issue 15, item 6: a 10 s database blip lost 297 audit events, visible only in the logs (a failed batch
 * was dropped at once). The durable sink now retries with backoff, spills to an fsynced append-only file
 * when the database stays down, replays it on recovery (also from a later process), and never stores an
 * event twice (the event id is the row's idempotency key). The PostgreSQL here is the test's own.
 */
describe('the audit trail across a database outage', () => {
  let server: OwnPostgres;
  let dataSource: DataSource;
  let app: INestApplication;
  let sink: BufferedAuditSink;
  const spillDirectory = mkdtempSync(join(tmpdir(), 'zt-audit-spill-'));
  const spilled = () => readdirSync(spillDirectory).filter((name) => name.endsWith('.jsonl'));
  const rows = async () => (await dataSource.query(`SELECT count(*)::int AS n, count(DISTINCT event_id)::int AS ids FROM zt_audit_log`))[0] as { n: number; ids: number };
  const sinkOptions = { batchSize: 20, flushInterval: 0.05, retries: 2, retryDelay: 0.05, maxRetryDelay: 0.2, spillDirectory };

  beforeAll(async () => {
    server = await startOwnPostgres();
    dataSource = await new DataSource({
      type: 'postgres',
      url: server.url,
      migrations: [ZeroTrustAuditLog1732000200000, ZeroTrustAuditEventId1732000210000],
      extra: { connectionTimeoutMillis: 300, max: 2 },
    }).initialize();
    await dataSource.runMigrations();
    sink = typeOrmAuditSink(dataSource, sinkOptions);
    @Module({
      imports: [
        ZeroTrustModule.forRoot({
          issuer: 'https://issuer.test',
          audience: 'audit-outage',
          auditSinks: [sink],
          audit: { loggerSink: false, floodControl: false },
          anomalyRules: false,
        }),
      ],
    })
    class AuditOutageModule {}
    app = await bootstrapApp(AuditOutageModule, 'express');
  }, 60_000);

  afterAll(async () => {
    await app?.close().catch(() => undefined);
    await dataSource?.destroy().catch(() => undefined);
    server?.destroy();
    rmSync(spillDirectory, { recursive: true, force: true });
  });

  it('15.6: keeps every event of a database outage (retried, spilled, replayed once) and counts each step in the metrics', async () => {
    const audit = app.get(AuditService);
    const publish = (count: number, reason: string) => {
      for (let i = 0; i < count; i++) audit.publish({ type: 'auth.failure', outcome: 'failure', reason: `${reason}-${i}` });
    };
    publish(50, 'before');
    await sink.flush();
    expect(await rows()).toEqual({ n: 50, ids: 50 });

    server.stop();
    publish(300, 'during');
    // Retried with backoff, then spilled to disk: nothing dropped, nothing given up.
    await until('the outage to be spilled', () => sink.stats().spilled === 300);
    expect(sink.stats()).toMatchObject({ queued: 0, written: 50, spilled: 300, dropped: 0, failed: 0 });
    expect(sink.stats().retried).toBeGreaterThan(0);
    expect(spilled().length).toBeGreaterThan(0);
    const metrics = await app.get(MetricsService).metrics();
    expect(metrics).toContain('zt_audit_sink_events_total{outcome="spilled"} 300');
    expect(metrics).toMatch(/zt_audit_sink_events_total\{outcome="retried"\} [1-9]/);
    expect(metrics).toContain('zt_audit_sink_events_total{outcome="failed"} 0');
    expect(metrics).toContain('zt_audit_sink_queued 0');

    // A copy of the spill file, to play a process that crashed after replaying it but before removing it.
    const copies = spilled().map((name) => {
      const copy = join(tmpdir(), `copy-${name}`);
      copyFileSync(join(spillDirectory, name), copy);
      return { name, copy };
    });

    await server.start();
    publish(10, 'after');
    await until('the replay', async () => sink.stats().replayed === 300 && sink.stats().queued === 0 && spilled().length === 0);
    await sink.flush();
    expect(await rows()).toEqual({ n: 360, ids: 360 });
    expect(await app.get(MetricsService).metrics()).toContain('zt_audit_sink_events_total{outcome="replayed"} 300');

    // The next process finds the same file again (plus a line torn by the crash): replayed, nothing doubled.
    for (const { name, copy } of copies) copyFileSync(copy, join(spillDirectory, name));
    appendFileSync(join(spillDirectory, copies[0].name), '{"type":"auth.fail');
    const next = typeOrmAuditSink(dataSource, sinkOptions);
    await next.flush();
    await next.close();
    expect(next.stats()).toMatchObject({ replayed: 300, failed: 0 });
    expect(spilled()).toEqual([]);
    expect(await rows()).toEqual({ n: 360, ids: 360 });
    for (const { copy } of copies) rmSync(copy, { force: true });
  }, 60_000);
});

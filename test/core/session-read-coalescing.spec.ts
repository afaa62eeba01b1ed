import 'reflect-metadata';
import { PGlite } from '@electric-sql/pglite';
import { Controller, Get, type INestApplication, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Authenticated, exclusivePGliteDriver, ManualClock, SessionService, ZeroTrustModule } from 'nestjs-zero-trust';
import request from 'supertest';
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireRedisUrl } from '../support/services.js';
import { bootstrapApp } from '../support/test-app.js';

const redisUrl = requireRedisUrl();
const storeKeyPrefix = `zt-coalesce-${randomBytes(4).toString('hex')}:`;

/** Every migration the sessions feature ships (the session service refuses to boot without them all). */
const SESSION_MIGRATIONS = Object.values(import.meta.glob<Record<string, unknown>>('../../lib/sessions/*.migration.ts', { eager: true }))
  .flatMap((module) => Object.entries(module))
  .filter(([name, value]) => /\d{13}$/.test(name) && typeof value === 'function')
  .sort(([a], [b]) => a.slice(-13).localeCompare(b.slice(-13)))
  .map(([, value]) => value as new () => object);

const OWNER = '00000000-0000-4000-8000-0000000000bb';

@Controller()
class ProbeController {
  @Authenticated()
  @Get('me')
  me() {
    return { ok: true };
  }
}

/** A PGlite whose session reads can be counted, held back or made to fail. */
function instrumented(db: PGlite) {
  const probe = {
    sessionReads: 0,
    /** When set, the next session read waits for it (a slow database). */
    hold: undefined as Promise<void> | undefined,
    /** When set, session reads fail (an outage). */
    failing: false,
    query: async (sql: string, params?: unknown[]) => {
      if (/FROM zt_sessions s WHERE s\.id = \$1/.test(sql)) {
        probe.sessionReads++;
        const hold = probe.hold;
        probe.hold = undefined;
        if (hold) await hold;
        if (probe.failing) throw new Error('connection terminated unexpectedly');
      }
      return db.query(sql, params);
    },
    exec: (sql: string) => db.exec(sql),
    close: () => db.close(),
  };
  return probe;
}

/**
 * Issue 16: when a session's cached liveness expires, every request in flight for it re-read it (10
 * identical queries at 10 connections). They now share one read; a failure is not kept, and a
 * revocation during a read is never hidden by that read's older answer.
 */
describe('concurrent reads of one session share one query (express, PGlite, Redis store when set)', () => {
  let app: INestApplication;
  let db: ReturnType<typeof instrumented>;
  let sessions: SessionService;
  const clock = new ManualClock();

  beforeAll(async () => {
    db = instrumented(await PGlite.create());
    @Module({
      imports: [
        ZeroTrustModule.forRoot({ issuer: 'https://issuer.test', audience: 'coalescing', sessions: {}, clock, auditSinks: [], databasePrivileges: 'off', authFailureLimit: false, ...(redisUrl ? { store: redisUrl, storeKeyPrefix } : {}) }),
        TypeOrmModule.forRootAsync({
          useFactory: () => ({ type: 'postgres', driver: exclusivePGliteDriver(db), entities: [], migrations: SESSION_MIGRATIONS, migrationsRun: true, retryAttempts: 0 }),
          dataSourceFactory: async (options) => new DataSource(options as DataSourceOptions).initialize(),
        }),
      ],
      controllers: [ProbeController],
    })
    class CoalescingModule {}
    app = await bootstrapApp(CoalescingModule, 'express');
    sessions = app.get(SessionService);
  });
  afterAll(async () => {
    await app?.close();
    if (!redisUrl) return;
    const redis = new Redis(redisUrl);
    const leftovers = await redis.keys(`${storeKeyPrefix}*`);
    if (leftovers.length) await redis.del(...leftovers);
    redis.disconnect();
  });

  const me = (token: string) => request(app.getHttpServer()).get('/me').set('Authorization', `Bearer ${token}`);
  const tenAtOnce = (token: string) => Promise.all(Array.from({ length: 10 }, () => me(token)));

  it('sends one query for ten requests in flight when the cached liveness has expired', async () => {
    const { accessToken } = await sessions.create(OWNER);
    await me(accessToken).expect(200);
    clock.advance(1_001);
    db.sessionReads = 0;
    let release!: () => void;
    db.hold = new Promise((resolve) => (release = resolve));
    const responses = tenAtOnce(accessToken);
    await new Promise((resolve) => setTimeout(resolve, 200));
    release();
    expect((await responses).map((response) => response.status)).toEqual(Array(10).fill(200));
    expect(db.sessionReads).toBe(1);
  });

  it('does not keep a failed read: the requests that shared it fail closed, the next one asks again', async () => {
    const { accessToken } = await sessions.create(OWNER);
    await me(accessToken).expect(200);
    clock.advance(1_001);
    db.sessionReads = 0;
    db.failing = true;
    const failed = await tenAtOnce(accessToken);
    expect(failed.every((response) => response.status >= 500)).toBe(true);
    db.failing = false;
    db.sessionReads = 0;
    await me(accessToken).expect(200);
    expect(db.sessionReads).toBe(1);
  });

  // Another instance's revocation arrives by the store's broadcast while this instance's read is held:
  // on PGlite (one session) nothing else can reach the database meanwhile, as it can on PostgreSQL.
  it.skipIf(!redisUrl)('a revocation broadcast during a read in flight is seen by every request after it, and that read does not overwrite it', async () => {
    const created = await sessions.create(OWNER);
    await me(created.accessToken).expect(200);
    clock.advance(1_001);
    let release!: () => void;
    db.hold = new Promise((resolve) => (release = resolve));
    const before = me(created.accessToken).then((response) => response.status);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const other = new Redis(redisUrl!);
    try {
      await other.publish(`${storeKeyPrefix}session-revocations`, created.sessionId);
    } finally {
      other.disconnect();
    }
    // The broadcast arrives asynchronously; the request after it must not join the read begun before it.
    let after = 200;
    for (let i = 0; i < 50 && after === 200; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      after = (await me(created.accessToken)).status;
    }
    expect(after).toBe(401);
    release();
    // The held read answered "live" (the row was not touched): its answer was not cached over the revocation.
    expect(await before).toBe(200);
    await me(created.accessToken).expect(401);
  });
});

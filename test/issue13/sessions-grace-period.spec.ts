/**
 * Issue 13, item 12: two genuine simultaneous refreshes (two tabs) logged the user out: the slower one
 * tripped reuse detection. Within `sessions.refreshGracePeriod` (default 2 s) the token that was just
 * rotated yields the same successor again; outside it, or once the successor was used, reuse detection
 * is intact. On PGlite here; on PostgreSQL with two instances in sessions-grace-period-postgres.spec.ts.
 */
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSampleApp } from '../../sample/src/app.factory.js';
import { auditEvents } from '../support/sample-database.js';
import { PLATFORMS } from '../support/test-app.js';

process.env.ZT_DB = 'memory';
process.env.ZT_AUTH_RATE_LIMIT = '10000';
const PASSWORD = 'correct horse battery';
const json = { 'Content-Type': 'application/json' };

describe.each(PLATFORMS)('13.12: the refresh grace period (%s)', (platform) => {
  let app: INestApplication;
  let strict: INestApplication;
  let counter = 0;

  async function session(target: INestApplication) {
    const http = request(target.getHttpServer());
    const email = `grace${++counter}-${platform}@example.com`;
    await http.post('/auth/register').set(json).send({ email, password: PASSWORD }).expect(201);
    return (await http.post('/auth/login').set(json).send({ email, password: PASSWORD }).expect(200)).body as { accessToken: string; refreshToken: string; sessionId: string };
  }
  const refresh = (target: INestApplication, refreshToken: string) => request(target.getHttpServer()).post('/auth/refresh').set(json).send({ refreshToken });
  const canUse = async (target: INestApplication, accessToken: string) => (await request(target.getHttpServer()).get('/notes').set('Authorization', `Bearer ${accessToken}`)).status;
  const liveTokens = async (target: INestApplication, sessionId: string) =>
    (await target.get(DataSource).query(`SELECT count(*)::int AS n FROM zt_refresh_tokens WHERE session_id = $1 AND used_at IS NULL`, [sessionId]))[0].n as number;

  beforeAll(async () => {
    app = await createSampleApp(platform, false);
    process.env.ZT_REFRESH_GRACE_PERIOD = '0';
    try {
      strict = await createSampleApp(platform, false);
    } finally {
      delete process.env.ZT_REFRESH_GRACE_PERIOD;
    }
  });
  afterAll(async () => {
    await app?.close();
    await strict?.close();
  });

  it('13.12: two tabs refreshing at once both stay signed in, with the same successor', async () => {
    const { refreshToken, sessionId } = await session(app);
    const [one, two] = await Promise.all([refresh(app, refreshToken), refresh(app, refreshToken)]);
    expect([one.status, two.status]).toEqual([200, 200]);
    expect(one.body.refreshToken).toBe(two.body.refreshToken);
    expect(one.body.accessToken).not.toBe(two.body.accessToken);
    expect(await canUse(app, one.body.accessToken)).toBe(200);
    expect(await canUse(app, two.body.accessToken)).toBe(200);
    expect(await liveTokens(app, sessionId)).toBe(1);
    // The family goes on from that one successor.
    await refresh(app, one.body.refreshToken).expect(200);
  });

  it('13.12: the rotated token shown again after the grace period is reuse: the whole session is revoked', async () => {
    const stolen = await session(app);
    const rotated = (await refresh(app, stolen.refreshToken).expect(200)).body;
    await app.get(DataSource).query(`UPDATE zt_refresh_tokens SET used_at = used_at - interval '3 seconds' WHERE session_id = $1 AND used_at IS NOT NULL`, [stolen.sessionId]);
    await refresh(app, stolen.refreshToken).expect(401);
    expect((await auditEvents(app, 'token.reuse_detected', 1))[0]).toMatchObject({ sessionId: stolen.sessionId });
    await refresh(app, rotated.refreshToken).expect(401);
    expect(await canUse(app, rotated.accessToken)).toBe(401);
  });

  it('13.12: within the grace period, once the successor itself was used, the old token is reuse', async () => {
    const stolen = await session(app);
    const second = (await refresh(app, stolen.refreshToken).expect(200)).body;
    const third = (await refresh(app, second.refreshToken).expect(200)).body;
    await refresh(app, stolen.refreshToken).expect(401);
    await refresh(app, third.refreshToken).expect(401);
    expect(await canUse(app, third.accessToken)).toBe(401);
  });

  it('13.12: the successor is kept sealed, never in clear, and only for the token just rotated', async () => {
    const first = await session(app);
    const second = (await refresh(app, first.refreshToken).expect(200)).body;
    const third = (await refresh(app, second.refreshToken).expect(200)).body;
    const rows = await app.get(DataSource).query(`SELECT successor_sealed FROM zt_refresh_tokens WHERE session_id = $1 AND successor_sealed IS NOT NULL`, [first.sessionId]);
    expect(rows).toHaveLength(1);
    const everything = JSON.stringify(await app.get(DataSource).query(`SELECT * FROM zt_refresh_tokens WHERE session_id = $1`, [first.sessionId]));
    for (const token of [first.refreshToken, second.refreshToken, third.refreshToken]) expect(everything).not.toContain(token);
  });

  it('13.12: with refreshGracePeriod 0, of eight parallel refreshes exactly one succeeds', async () => {
    const { refreshToken, sessionId } = await session(strict);
    const results = await Promise.all(Array.from({ length: 8 }, () => refresh(strict, refreshToken)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 401)).toHaveLength(7);
    // ...and the losers were reuse: the session is gone.
    expect(await liveTokens(strict, sessionId)).toBe(1);
    expect(await canUse(strict, results.find((r) => r.status === 200)!.body.accessToken)).toBe(401);
  });
});

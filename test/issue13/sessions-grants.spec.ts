/**
 * Issue 13, item 5: removing a grant did not touch live sessions. After an operator removed
 * `notes:admin`, every refresh re-issued it for the 30-day session. Grants are now read again at every
 * refresh through the `SessionGrants` port (the sample's users table), and a grants change makes the
 * access tokens issued before it fail their per-request session check.
 */
import type { INestApplication } from '@nestjs/common';
import { SessionService } from 'nestjs-zero-trust';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCode, totpStep } from '../../lib/mfa/totp.js';
import { createSampleApp } from '../../sample/src/app.factory.js';
import { asOwner, auditEvents } from '../support/sample-database.js';
import { PLATFORMS } from '../support/test-app.js';

process.env.ZT_DB = 'memory';
process.env.ZT_AUTH_RATE_LIMIT = '10000';
const PASSWORD = 'correct horse battery';
const json = { 'Content-Type': 'application/json' };
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const scopesOf = (accessToken: string) => String(JSON.parse(Buffer.from(accessToken.split('.')[1], 'base64url').toString()).scope ?? '').split(' ').filter(Boolean);

describe.each(PLATFORMS)('13.5: grants are read again, and a change reaches live tokens (%s)', (platform) => {
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  let db: DataSource;
  let counter = 0;

  async function user(scopes: string[] = []) {
    const email = `grants${++counter}-${platform}@example.com`;
    await http.post('/auth/register').set(json).send({ email, password: PASSWORD }).expect(201);
    await asOwner(app, 'UPDATE users SET scopes = $2 WHERE email = $1', [email, scopes]);
    const [{ id }] = await db.query('SELECT id FROM users WHERE email = $1', [email]);
    return { email, id: id as string };
  }
  const login = async (email: string, otp?: string) => (await http.post('/auth/login').set(json).send({ email, password: PASSWORD, otp }).expect(200)).body;
  const refresh = (refreshToken: string) => http.post('/auth/refresh').set(json).send({ refreshToken });

  /** An operator: users:admin, a second factor, a session that proved it. */
  async function operator() {
    const { email } = await user(['users:admin']);
    const plain = await login(email);
    const { secret } = (await http.post('/auth/mfa/enroll').set(bearer(plain.accessToken)).expect(201)).body;
    await http.post('/auth/mfa/confirm').set(bearer(plain.accessToken)).set(json).send({ code: totpCode(secret, totpStep()) }).expect(200);
    return (await login(email, totpCode(secret, totpStep() + 1))).accessToken as string;
  }

  beforeAll(async () => {
    app = await createSampleApp(platform, false);
    http = request(app.getHttpServer());
    db = app.get(DataSource);
  });
  afterAll(() => app?.close());

  it('13.5: a scope an operator removed in the users table is gone from the next refresh', async () => {
    const owner = await user();
    const note = (await http.post('/notes').set(bearer((await login(owner.email)).accessToken)).set(json).send({ title: 't', body: 'b' }).expect(201)).body;
    const admin = await user(['notes:admin']);
    const session = await login(admin.email);
    expect(scopesOf(session.accessToken)).toContain('notes:admin');
    await http.get(`/notes/${note.id}`).set(bearer(session.accessToken)).expect(200);
    await asOwner(app, `UPDATE users SET scopes = '{}' WHERE id = $1`, [admin.id]);
    const refreshed = (await refresh(session.refreshToken).expect(200)).body;
    expect(scopesOf(refreshed.accessToken)).not.toContain('notes:admin');
    await http.get(`/notes/${note.id}`).set(bearer(refreshed.accessToken)).expect(404);
    // Every later refresh too: the session does not remember what it was created with.
    const again = (await refresh(refreshed.refreshToken).expect(200)).body;
    expect(scopesOf(again.accessToken)).toEqual([]);
  });

  it('13.5: a grants change through the operator route fails the older access tokens at once; the session lives on', async () => {
    const admin = await operator();
    const target = await user(['notes:admin', 'audit:read']);
    const session = await login(target.email);
    await http.get('/notes').set(bearer(session.accessToken)).expect(200);
    await http.put(`/admin/users/${target.id}/scopes`).set(bearer(admin)).set(json).send({ scopes: ['audit:read'] }).expect(204);
    // 0 on the instance that made the change: the very next request.
    await http.get('/notes').set(bearer(session.accessToken)).expect(401);
    const refreshed = (await refresh(session.refreshToken).expect(200)).body;
    expect(scopesOf(refreshed.accessToken)).toEqual(['audit:read']);
    await http.get('/notes').set(bearer(refreshed.accessToken)).expect(200);
    expect((await auditEvents(app, 'session.grants_changed', 1))[0]).toMatchObject({ subject: target.id });
  });

  it('13.5: only an operator grants scopes, and only known ones', async () => {
    const target = await user();
    const own = await login(target.email);
    await http.put(`/admin/users/${target.id}/scopes`).set(bearer(own.accessToken)).set(json).send({ scopes: ['notes:admin'] }).expect(403);
    const admin = await operator();
    await http.put(`/admin/users/${target.id}/scopes`).set(bearer(admin)).set(json).send({ scopes: ['root'] }).expect(400);
    const [{ scopes }] = await db.query('SELECT scopes FROM users WHERE id = $1', [target.id]);
    expect(scopes).toEqual([]);
  });

  it('13.5: a disabled user cannot refresh: the grants port answers nothing and the session is revoked', async () => {
    const target = await user(['audit:read']);
    const session = await login(target.email);
    await asOwner(app, 'UPDATE users SET disabled_at = now() WHERE id = $1', [target.id]);
    await refresh(session.refreshToken).expect(401);
    expect(await app.get(SessionService).isActive(session.sessionId, { subject: target.id, issuer: 'http://localhost:3000', claims: {} })).toBe(false);
    await http.get('/notes').set(bearer(session.accessToken)).expect(401);
  });

  it('13.5: grantsChanged leaves other users alone', async () => {
    const a = await user();
    const b = await user();
    const [sa, sb] = [await login(a.email), await login(b.email)];
    expect(await app.get(SessionService).grantsChanged(a.id)).toBe(1);
    await http.get('/notes').set(bearer(sa.accessToken)).expect(401);
    await http.get('/notes').set(bearer(sb.accessToken)).expect(200);
  });
});

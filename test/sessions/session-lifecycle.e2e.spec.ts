import type { INestApplication } from '@nestjs/common';
import { totpCode, totpStep } from '../../lib/mfa/totp.js';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSampleApp } from '../../sample/src/app.factory.js';
import { asOwner, auditEvents } from '../support/sample-database.js';
import { PLATFORMS } from '../support/test-app.js';

process.env.ZT_DB = 'memory';
// Many logins from one test client: the auth rate limit itself is tested in test/throttle.
process.env.ZT_AUTH_RATE_LIMIT = '10000';
const PASSWORD = 'correct horse battery';

describe.each(PLATFORMS)('sessions, refresh rotation, revocation and MFA on the sample (%s)', (platform) => {
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  let db: DataSource;
  let counter = 0;

  const json = { 'Content-Type': 'application/json' };
  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
  async function newUser() {
    const email = `user${++counter}-${platform}@example.com`;
    await http.post('/auth/register').set(json).send({ email, password: PASSWORD }).expect(201);
    return email;
  }
  const login = async (email: string, extra: Record<string, unknown> = {}) =>
    (await http.post('/auth/login').set(json).send({ email, password: PASSWORD, ...extra }).expect(200)).body as {
      accessToken: string;
      refreshToken: string;
      sessionId: string;
    };
  const refresh = (refreshToken: string) => http.post('/auth/refresh').set(json).send({ refreshToken });
  const canUse = async (accessToken: string) => (await http.get('/notes').set(bearer(accessToken))).status;

  beforeAll(async () => {
    app = await createSampleApp(platform, false);
    http = request(app.getHttpServer());
    db = app.get(DataSource);
  });
  afterAll(() => app?.close());

  it('issues a refresh token with the access token at login, and rotates it', async () => {
    const first = await login(await newUser());
    expect(first.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const second = (await refresh(first.refreshToken).expect(200)).body;
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect(second.sessionId).toBe(first.sessionId);
    expect(await canUse(second.accessToken)).toBe(200);
  });

  it('stores refresh tokens only as hashes', async () => {
    const { refreshToken } = await login(await newUser());
    const rows = await db.query('SELECT token_hash FROM zt_refresh_tokens');
    expect(JSON.stringify(rows)).not.toContain(refreshToken);
  });

  it('detects reuse of a rotated refresh token: 401, the whole session revoked, the new pair dead too', async () => {
    const stolen = await login(await newUser());
    const rotated = (await refresh(stolen.refreshToken).expect(200)).body;
    // The thief comes back after the refresh grace period (2 s): reuse detection, not a second copy.
    await db.query(`UPDATE zt_refresh_tokens SET used_at = used_at - interval '1 minute' WHERE session_id = $1 AND used_at IS NOT NULL`, [stolen.sessionId]);
    await refresh(stolen.refreshToken).expect(401);
    expect((await auditEvents(app, 'token.reuse_detected', 1))[0]).toMatchObject({ sessionId: stolen.sessionId });
    await refresh(rotated.refreshToken).expect(401);
    expect(await canUse(rotated.accessToken)).toBe(401);
    expect(await canUse(stolen.accessToken)).toBe(401);
  });

  it('lets many parallel refreshes with the same token rotate it once: one successor, one live refresh token', async () => {
    const { refreshToken, sessionId } = await login(await newUser());
    const results = await Promise.all(Array.from({ length: 8 }, () => refresh(refreshToken)));
    // Within the grace period every one of them gets the same successor (two tabs must not log the user
    // out); the family never forks: exactly one unused refresh token exists afterwards.
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(200));
    expect(new Set(results.map((r) => r.body.refreshToken)).size).toBe(1);
    const [{ live }] = await db.query(`SELECT count(*)::int AS live FROM zt_refresh_tokens WHERE session_id = $1 AND used_at IS NULL`, [sessionId]);
    expect(live).toBe(1);
  });

  it('never accepts a refresh token as an access token, nor an access token as a refresh token', async () => {
    const tokens = await login(await newUser());
    expect(await canUse(tokens.refreshToken)).toBe(401);
    await refresh(tokens.accessToken).expect(400); // not even the refresh token's shape: the DTO refuses it
    await refresh('A'.repeat(43)).expect(401);
  });

  it('refuses a refresh token past its absolute lifetime or after the idle timeout', async () => {
    const expired = await login(await newUser());
    await db.query(`UPDATE zt_refresh_tokens SET expires_at = now() - interval '1 second' WHERE session_id = $1`, [expired.sessionId]);
    await refresh(expired.refreshToken).expect(401);
    const idle = await login(await newUser());
    await db.query(`UPDATE zt_sessions SET last_used_at = now() - interval '8 days' WHERE id = $1`, [idle.sessionId]);
    await refresh(idle.refreshToken).expect(401);
    expect(await canUse(idle.accessToken)).toBe(401);
  });

  it('revokes the session at logout: its access token gets 401 at once, not at expiry', async () => {
    const email = await newUser();
    const session = await login(email);
    const other = await login(email);
    await http.post('/auth/logout').set(bearer(session.accessToken)).expect(204);
    expect(await canUse(session.accessToken)).toBe(401);
    await refresh(session.refreshToken).expect(401);
    expect(await canUse(other.accessToken)).toBe(200);
  });

  it('revokes every session of the user at logout-all', async () => {
    const email = await newUser();
    const [a, b] = [await login(email), await login(email)];
    await http.post('/auth/logout-all').set(bearer(a.accessToken)).expect(204);
    expect(await canUse(a.accessToken)).toBe(401);
    expect(await canUse(b.accessToken)).toBe(401);
    await refresh(b.refreshToken).expect(401);
  });

  it('enrolls TOTP, then demands it at login and refuses replayed and wrong codes', async () => {
    const email = await newUser();
    const plain = await login(email);
    const { otpauthUri, secret } = (await http.post('/auth/mfa/enroll').set(bearer(plain.accessToken)).expect(201)).body;
    expect(otpauthUri).toMatch(/^otpauth:\/\/totp\/.+\?secret=[A-Z2-7]+/);
    await http.post('/auth/mfa/confirm').set(bearer(plain.accessToken)).set(json).send({ code: '000000' === totpCode(secret, totpStep()) ? '111111' : '000000' }).expect(400);
    const { recoveryCodes } = (await http.post('/auth/mfa/confirm').set(bearer(plain.accessToken)).set(json).send({ code: totpCode(secret, totpStep()) }).expect(200)).body;
    expect(recoveryCodes).toHaveLength(10);

    await http.post('/auth/login').set(json).send({ email, password: PASSWORD }).expect(401);
    const code = totpCode(secret, totpStep() + 1);
    const mfa = await login(email, { otp: code });
    const [, payload] = mfa.accessToken.split('.');
    expect(JSON.parse(Buffer.from(payload, 'base64url').toString()).amr).toEqual(['pwd', 'otp', 'mfa']);
    // Replay of the same code within its window:
    await http.post('/auth/login').set(json).send({ email, password: PASSWORD, otp: code }).expect(401);
    await http.post('/auth/login').set(json).send({ email, password: PASSWORD, otp: '12345' }).expect(401);
    expect((await auditEvents(app, 'mfa.failure')).length).toBeGreaterThan(0);
    // A recovery code works once.
    await login(email, { otp: recoveryCodes[0] });
    await http.post('/auth/login').set(json).send({ email, password: PASSWORD, otp: recoveryCodes[0] }).expect(401);
  });

  it('lets a user without MFA change the password after a recent login, and then revokes every other session', async () => {
    const email = await newUser();
    const other = await login(email);
    const current = await login(email);
    await http.post('/auth/password').set(bearer(current.accessToken)).set(json).send({ currentPassword: 'wrong password!!', newPassword: 'another long password' }).expect(403);
    await http.post('/auth/password').set(bearer(current.accessToken)).set(json).send({ currentPassword: PASSWORD, newPassword: 'another long password' }).expect(204);
    expect(await canUse(other.accessToken)).toBe(401);
    expect(await canUse(current.accessToken)).toBe(200);
    expect((await auditEvents(app, 'password.changed', 1))[0].sessionId).toBe(current.sessionId);
    await http.post('/auth/login').set(json).send({ email, password: PASSWORD }).expect(401);
    await http.post('/auth/login').set(json).send({ email, password: 'another long password' }).expect(200);
  });

  it('demands the second factor, not only the password, to change the password of an MFA account', async () => {
    const email = await newUser();
    const plain = await login(email);
    const { secret } = (await http.post('/auth/mfa/enroll').set(bearer(plain.accessToken)).expect(201)).body;
    await http.post('/auth/mfa/confirm').set(bearer(plain.accessToken)).set(json).send({ code: totpCode(secret, totpStep()) }).expect(200);
    // The session that enrolled proved a password, not the factor it just created.
    const challenged = await http.post('/auth/password').set(bearer(plain.accessToken)).set(json).send({ currentPassword: PASSWORD, newPassword: 'another long password' }).expect(401);
    expect(challenged.headers['www-authenticate']).toContain('acr_values="mfa"');
    const mfa = await login(email, { otp: totpCode(secret, totpStep() + 1) });
    await http.post('/auth/password').set(bearer(mfa.accessToken)).set(json).send({ currentPassword: 'wrong password!!', newPassword: 'another long password' }).expect(403);
    await http.post('/auth/password').set(bearer(mfa.accessToken)).set(json).send({ currentPassword: PASSWORD, newPassword: 'another long password' }).expect(204);
    expect(await canUse(plain.accessToken)).toBe(401);
    expect(await canUse(mfa.accessToken)).toBe(200);
    expect((await auditEvents(app, 'password.changed', 1))[0].sessionId).toBe(mfa.sessionId);
  });

  it('revokes every session of a disabled user, and refuses their next login like a wrong password', async () => {
    const email = await newUser();
    const victim = await login(email);
    const adminEmail = await newUser();
    await asOwner(app, `UPDATE users SET scopes = '{users:admin}' WHERE email = $1`, [adminEmail]);
    const adminPlain = await login(adminEmail);
    const { secret } = (await http.post('/auth/mfa/enroll').set(bearer(adminPlain.accessToken)).expect(201)).body;
    await http.post('/auth/mfa/confirm').set(bearer(adminPlain.accessToken)).set(json).send({ code: totpCode(secret, totpStep()) }).expect(200);
    const admin = await login(adminEmail, { otp: totpCode(secret, totpStep() + 1) });
    const [{ id }] = await db.query('SELECT id FROM users WHERE email = $1', [email]);
    await http.post(`/admin/users/${id}/disable`).set(bearer(adminPlain.accessToken)).expect(403);
    await http.post(`/admin/users/${id}/disable`).set(bearer(admin.accessToken)).expect(204);
    expect(await canUse(victim.accessToken)).toBe(401);
    const denied = await http.post('/auth/login').set(json).send({ email, password: PASSWORD }).expect(401);
    const wrongPassword = await http.post('/auth/login').set(json).send({ email: adminEmail, password: 'wrong horse battery' }).expect(401);
    expect(denied.body).toEqual(wrongPassword.body);
  });

  it('can carry the refresh token in a __Host- cookie, accepted only with a JSON content type', async () => {
    const email = await newUser();
    const response = await http.post('/auth/login').set(json).send({ email, password: PASSWORD, refreshTransport: 'cookie' }).expect(200);
    expect(response.body.refreshToken).toBeUndefined();
    const setCookie = [response.headers['set-cookie']].flat().join('');
    expect(setCookie).toMatch(/^__Host-session_rt=[A-Za-z0-9_-]{43}; Path=\/; Max-Age=\d+; Secure; HttpOnly; SameSite=Strict$/);
    const cookie = setCookie.split(';')[0];
    await http.post('/auth/refresh').set('Cookie', cookie).expect(403); // no body, no JSON: a cross-site form could send this
    await http.post('/auth/refresh').set('Cookie', cookie).set('Content-Type', 'text/plain').send('x').expect(415);
    const rotated = await http.post('/auth/refresh').set('Cookie', cookie).set(json).send({}).expect(200);
    expect(rotated.body.refreshToken).toBeUndefined();
    expect([rotated.headers['set-cookie']].flat().join('')).toMatch(/^__Host-session_rt=/);
    const logout = await http.post('/auth/logout').set(bearer(rotated.body.accessToken)).expect(204);
    expect([logout.headers['set-cookie']].flat().join('')).toContain('Max-Age=0');
  });
});

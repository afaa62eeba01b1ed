/**
 * Issue 13, item 4: a stolen access token could enrol the attacker's authenticator (enrolment needed no
 * reauthentication, and the owner had no way back). Enrolling, confirming, disabling or resetting MFA,
 * and changing the password, now need an authentication of the session within
 * `accounts.reauthenticationMaxAge` (300 s; the token's `auth_time`), with the current factor when the
 * account has one; otherwise 401 with RFC 9470's challenge. A user without MFA can change the password.
 */
import type { INestApplication } from '@nestjs/common';
import { ManualClock } from 'nestjs-zero-trust';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCode, totpStep } from '../../lib/mfa/totp.js';
import { createSampleApp } from '../../sample/src/app.factory.js';
import { mfaUser, SAMPLE_PASSWORD as PASSWORD } from '../sessions/sample-accounts.js';
import { asOwner } from '../support/sample-database.js';
import { createAccountsApp, HARNESS_PASSWORD, type MemoryDirectory } from '../sessions/accounts-app.js';
import { PLATFORMS } from '../support/test-app.js';

process.env.ZT_DB = 'memory';
process.env.ZT_AUTH_RATE_LIMIT = '10000';
const json = { 'Content-Type': 'application/json' };
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as Record<string, unknown>;
const CHALLENGE = 'Bearer error="insufficient_user_authentication", error_description="Authenticate again", max_age="300"';
const FACTOR_CHALLENGE = 'Bearer error="insufficient_user_authentication", error_description="Authenticate again with your second factor", max_age="300", acr_values="mfa"';

describe.each(PLATFORMS)('13.4: recent authentication for account changes (%s)', (platform) => {
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  let db: DataSource;
  let counter = 0;
  const email = () => `recent${++counter}-${platform}@example.com`;
  const login = async (address: string, otp?: string) =>
    (await http.post('/auth/login').set(json).send({ email: address, password: PASSWORD, otp }).expect(200)).body as { accessToken: string; refreshToken: string; sessionId: string };

  /**
   * What a thief holds: a valid access token of a session whose last authentication was `minutes` ago
   * (the session's auth_time moved back, then a refresh issues the token that carries it).
   */
  async function staleToken(session: { refreshToken: string; sessionId: string }, minutes = 10) {
    await db.query(`UPDATE zt_sessions SET auth_time = auth_time - make_interval(mins => $2) WHERE id = $1`, [session.sessionId, minutes]);
    return (await http.post('/auth/refresh').set(json).send({ refreshToken: session.refreshToken }).expect(200)).body.accessToken as string;
  }
  const factorRows = async (address: string) =>
    asOwner(app, 'SELECT f.secret, f.pending_secret FROM zt_mfa_factors f JOIN users u ON u.id::text = f.subject WHERE u.email = $1', [address]);

  beforeAll(async () => {
    app = await createSampleApp(platform, false);
    http = request(app.getHttpServer());
    db = app.get(DataSource);
  });
  afterAll(() => app?.close());

  it('13.4: a stolen token whose login is older than the window cannot enrol an authenticator: 401 with the RFC 9470 challenge', async () => {
    const victim = email();
    await http.post('/auth/register').set(json).send({ email: victim, password: PASSWORD }).expect(201);
    const stolen = await staleToken(await login(victim));
    await http.get('/notes').set(bearer(stolen)).expect(200); // the token itself is valid
    const response = await http.post('/auth/mfa/enroll').set(bearer(stolen)).expect(401);
    expect(response.headers['www-authenticate']).toBe(CHALLENGE);
    expect(response.body).toEqual({ statusCode: 401, message: 'Reauthentication required', error: 'Unauthorized' });
    expect(await factorRows(victim)).toEqual([]);
    await http.post('/auth/password').set(bearer(stolen)).set(json).send({ currentPassword: PASSWORD, newPassword: 'attacker password!' }).expect(401);
  });

  it('13.4: tokens carry auth_time; a refresh keeps the login time, reauthentication renews it', async () => {
    const address = email();
    await http.post('/auth/register').set(json).send({ email: address, password: PASSWORD }).expect(201);
    const session = await login(address);
    const loginTime = claimsOf(session.accessToken).auth_time as number;
    expect(Math.abs(loginTime - Date.now() / 1000)).toBeLessThan(5);
    const stale = await staleToken(session);
    expect(claimsOf(stale).auth_time).toBe(loginTime - 600);
    await http.post('/auth/reauthenticate').set(bearer(stale)).set(json).send({ password: 'wrong password!!' }).expect(403);
    const renewed = (await http.post('/auth/reauthenticate').set(bearer(stale)).set(json).send({ password: PASSWORD }).expect(200)).body;
    expect(renewed.sessionId).toBe(session.sessionId);
    expect(claimsOf(renewed.accessToken).auth_time).toBeGreaterThan(loginTime - 5);
    await http.post('/auth/mfa/enroll').set(bearer(stale)).expect(401);
    await http.post('/auth/mfa/enroll').set(bearer(renewed.accessToken)).expect(201);
  });

  it('13.4: a user without MFA can change the password (recent login, current password)', async () => {
    const address = email();
    await http.post('/auth/register').set(json).send({ email: address, password: PASSWORD }).expect(201);
    const session = await login(address);
    await http.post('/auth/password').set(bearer(session.accessToken)).set(json).send({ currentPassword: PASSWORD, newPassword: 'a brand new password' }).expect(204);
    await http.post('/auth/login').set(json).send({ email: address, password: 'a brand new password' }).expect(200);
  });

  it('13.4: with MFA on, the password alone is not recent enough: the challenge asks for the factor (acr_values), which then works', async () => {
    const user = await mfaUser(http, email());
    const stale = await staleToken(await login(user.email, totpCode(user.secret, totpStep() + 1)));
    const challenged = await http.post('/auth/mfa/disable').set(bearer(stale)).expect(401);
    expect(challenged.headers['www-authenticate']).toBe(FACTOR_CHALLENGE);
    await http.post('/auth/reauthenticate').set(bearer(stale)).set(json).send({ password: PASSWORD }).expect(403);
    // The login spent the latest TOTP step; a code of that step or earlier is a replay, even here.
    await http.post('/auth/reauthenticate').set(bearer(stale)).set(json).send({ otp: totpCode(user.secret, totpStep() + 1) }).expect(403);
    const stepped = (await http.post('/auth/reauthenticate').set(bearer(stale)).set(json).send({ otp: user.recoveryCodes[0] }).expect(200)).body;
    expect(claimsOf(stepped.accessToken)).toMatchObject({ acr: 'mfa', amr: expect.arrayContaining(['otp', 'mfa']) });
    await http.post('/auth/mfa/disable').set(bearer(stepped.accessToken)).expect(204);
    expect(await factorRows(user.email)).toEqual([]);
  });

  it('13.4: a fresh session that never proved the factor (enrolled after login) is challenged for it', async () => {
    const user = await mfaUser(http, email());
    const challenged = await http.post('/auth/mfa/recovery-codes').set(bearer(user.enrollingToken)).expect(401);
    expect(challenged.headers['www-authenticate']).toBe(FACTOR_CHALLENGE);
    const mfa = await login(user.email, totpCode(user.secret, totpStep() + 1));
    const { recoveryCodes } = (await http.post('/auth/mfa/recovery-codes').set(bearer(mfa.accessToken)).expect(200)).body;
    expect(recoveryCodes).toHaveLength(10);
    // The old codes are gone with the regeneration.
    await http.post('/auth/login').set(json).send({ email: user.email, password: PASSWORD, otp: user.recoveryCodes[0] }).expect(401);
  });

  it('13.4: recovery path: a lost authenticator is replaced after signing in with a recovery code; the old one stops working', async () => {
    const user = await mfaUser(http, email());
    const recovered = await login(user.email, user.recoveryCodes[0]);
    const { secret: replacement } = (await http.post('/auth/mfa/enroll').set(bearer(recovered.accessToken)).expect(201)).body;
    // Until confirmed, the old factor stays in force.
    expect((await factorRows(user.email))[0]).toMatchObject({ secret: expect.stringMatching(/^v1\./), pending_secret: expect.stringMatching(/^v1\./) });
    await http.post('/auth/mfa/confirm').set(bearer(recovered.accessToken)).set(json).send({ code: totpCode(replacement, totpStep()) }).expect(200);
    await http.post('/auth/login').set(json).send({ email: user.email, password: PASSWORD, otp: totpCode(user.secret, totpStep() + 1) }).expect(401);
    await login(user.email, totpCode(replacement, totpStep() + 1));
  });

  it('13.4: operator recovery path: users:admin resets a user who lost everything; their sessions end; they enrol again', async () => {
    const admin = await mfaUser(http, email());
    await asOwner(app, `UPDATE users SET scopes = '{users:admin}' WHERE email = $1`, [admin.email]);
    const operator = await login(admin.email, totpCode(admin.secret, totpStep() + 1));
    const user = await mfaUser(http, email());
    const userSession = await login(user.email, user.recoveryCodes[0]);
    const [{ id }] = await db.query('SELECT id FROM users WHERE email = $1', [user.email]);
    await http.post(`/admin/users/${id}/mfa/reset`).set(bearer(userSession.accessToken)).expect(403);
    await http.post(`/admin/users/${id}/mfa/reset`).set(bearer(operator.accessToken)).expect(204);
    await http.get('/notes').set(bearer(userSession.accessToken)).expect(401);
    const fresh = await login(user.email);
    await http.post('/auth/mfa/enroll').set(bearer(fresh.accessToken)).expect(201);
  });

  it('13.4: reauthentication is counted by the lockout: a token holder cannot guess the password without limit', async () => {
    const address = email();
    await http.post('/auth/register').set(json).send({ email: address, password: PASSWORD }).expect(201);
    const stolen = await staleToken(await login(address));
    for (let i = 0; i < 5; i++) await http.post('/auth/reauthenticate').set(bearer(stolen)).set(json).send({ password: `guess number ${i}` }).expect(403);
    await http.post('/auth/reauthenticate').set(bearer(stolen)).set(json).send({ password: PASSWORD }).expect(403);
    await http.post('/auth/login').set(json).send({ email: address, password: PASSWORD }).expect(401);
  });
});

describe.each(PLATFORMS)('13.4: the window, on the injected clock (%s)', (platform) => {
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  let directory: MemoryDirectory;
  const clock = new ManualClock();

  beforeAll(async () => {
    ({ app, directory } = await createAccountsApp(platform, { zeroTrust: { clock } }));
    http = request(app.getHttpServer());
  });
  afterAll(() => app?.close());

  it('13.4: a route\'s own maxAge (60 s) holds; a new token after a reauthentication passes again', async () => {
    const account = directory.add('window@example.com');
    const session = (await http.post('/login').send({ login: account.login, password: HARNESS_PASSWORD }).expect(200)).body;
    // auth_time is in whole seconds (RFC 7519 NumericDate): 59 s on is within, 61 s on is not.
    clock.advance(59_000);
    await http.get('/sensitive').set(bearer(session.accessToken)).expect(200);
    clock.advance(2_000);
    const challenged = await http.get('/sensitive').set(bearer(session.accessToken)).expect(401);
    expect(challenged.headers['www-authenticate']).toBe('Bearer error="insufficient_user_authentication", error_description="Authenticate again", max_age="60"');
    // The module-wide window (300 s) still covers the enrolment route.
    await http.post('/mfa/enroll').set(bearer(session.accessToken)).expect(201);
    const renewed = (await http.post('/reauthenticate').set(bearer(session.accessToken)).send({ password: HARNESS_PASSWORD }).expect(200)).body;
    await http.get('/sensitive').set(bearer(renewed.accessToken)).expect(200);
  });

  it('13.4: an auth_time from the future is not recent', async () => {
    const account = directory.add('future@example.com');
    const session = (await http.post('/login').send({ login: account.login, password: HARNESS_PASSWORD }).expect(200)).body;
    clock.advance(-3_600_000);
    try {
      await http.get('/sensitive').set(bearer(session.accessToken)).expect(401);
    } finally {
      clock.advance(3_600_000);
    }
  });
});


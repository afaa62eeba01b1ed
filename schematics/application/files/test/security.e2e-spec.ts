import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { solveChallenge } from 'altcha-lib';
import { deriveKey } from 'altcha-lib/algorithms/sha';
import { DevelopmentMailer, Mailer, type MailMessage } from 'nestjs-zero-trust';
import { createSign, generateKeyPairSync } from 'node:crypto';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppModule } from '../src/app.module.js';

// A throwaway embedded database for this run (see .env.example).
process.env.PGLITE_DATA_DIR = 'memory://';
const PASSWORD = 'correct horse battery';
const json = { 'Content-Type': 'application/json' };
const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

describe('zero-trust defaults of this API', () => {
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  /** A proof of work for `action`, solved as the ALTCHA widget does (GET /account/challenge). */
  const proof = async (action: string) => {
    const challenge = (await http.get(`/account/challenge?action=${action}`).expect(200)).body;
    const solution = await solveChallenge({ challenge, deriveKey, timeout: 20_000 });
    return Buffer.from(JSON.stringify({ challenge, solution })).toString('base64');
  };
  /** The newest mail of `kind` to `to` (mail is sent outside the request: wait for it). */
  const mailed = async (to: string, kind: MailMessage['kind']) => {
    for (let i = 0; i < 100; i++) {
      const mail = (app.get(Mailer) as DevelopmentMailer).last(to, kind);
      if (mail) return mail;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`no ${kind} mail to ${to}`);
  };
  /** What the app's database role may see of the accounts and their links (it reads no password hash). */
  const accounts = () =>
    app.get(DataSource).query(`SELECT u.id, u.email, u.email_verified_at, zt_users_password_settings(u.id) AS settings, t.token_hash, t.used_at
      FROM users u LEFT JOIN zt_account_tokens t ON t.subject = u.id::text ORDER BY u.id, t.token_hash`);
  const login = async (email: string) => (await http.post('/auth/login').set(json).send({ email, password: PASSWORD }).expect(200)).body.accessToken as string;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    http = request(app.getHttpServer());
    for (const email of ['a@example.com', 'b@example.com']) await http.post('/auth/register').set(json).send({ email, password: PASSWORD }).expect(201);
  });
  afterAll(() => app?.close());

  it('answers 401 without a token, with the security headers', async () => {
    const response = await http.get('/notes').expect(401);
    expect(response.headers['content-security-policy']).toContain("default-src 'none'");
    expect(response.headers['strict-transport-security']).toContain('preload');
  });

  it('refuses forged tokens: alg none, another key, a changed payload', async () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: 'http://localhost:3000', aud: '<%= name %>', sub: 'someone', iat: now, exp: now + 300 };
    const none = `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(claims)}.`;
    const input = `${b64({ alg: 'ES256', typ: 'at+jwt' })}.${b64(claims)}`;
    const signer = createSign('sha256').update(input);
    const otherKey = `${input}.${signer.sign({ key: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
    for (const token of [none, otherKey]) await http.get('/notes').set('Authorization', `Bearer ${token}`).expect(401);
    const [h, , s] = (await login('a@example.com')).split('.');
    await http.get('/notes').set('Authorization', `Bearer ${h}.${b64({ ...claims, sub: 'admin' })}.${s}`).expect(401);
  });

  it('refuses extra fields (mass assignment) and stores nothing', async () => {
    const token = await login('a@example.com');
    await http.post('/notes').set('Authorization', `Bearer ${token}`).set(json).send({ title: 't', body: 'b', ownerId: 'x' }).expect(400);
    expect((await http.get('/notes').set('Authorization', `Bearer ${token}`).expect(200)).body).toEqual([]);
  });

  it("never shows one user another user's note", async () => {
    const a = await login('a@example.com');
    const b = await login('b@example.com');
    const note = (await http.post('/notes').set('Authorization', `Bearer ${a}`).set(json).send({ title: 'mine', body: 'secret' }).expect(201)).body;
    await http.get(`/notes/${note.id}`).set('Authorization', `Bearer ${b}`).expect(404);
    await http.delete(`/notes/${note.id}`).set('Authorization', `Bearer ${b}`).expect(404);
    await http.get(`/notes/${note.id}`).set('Authorization', `Bearer ${a}`).expect(200);
  });

  it('lets a stolen access token enrol no authenticator once its login is older than 5 minutes (RFC 9470)', async () => {
    const session = (await http.post('/auth/login').set(json).send({ email: 'b@example.com', password: PASSWORD }).expect(200)).body;
    // What a thief holds: a valid token of a session whose last authentication was 10 minutes ago.
    await app.get(DataSource).query(`UPDATE zt_sessions SET auth_time = auth_time - interval '10 minutes' WHERE id = $1`, [session.sessionId]);
    const stolen = (await http.post('/auth/refresh').set(json).send({ refreshToken: session.refreshToken }).expect(200)).body.accessToken;
    const response = await http.post('/auth/mfa/enroll').set('Authorization', `Bearer ${stolen}`).expect(401);
    expect(response.headers['www-authenticate']).toContain('error="insufficient_user_authentication"');
    const fresh = (await http.post('/auth/reauthenticate').set('Authorization', `Bearer ${stolen}`).set(json).send({ password: PASSWORD }).expect(200)).body.accessToken;
    await http.post('/auth/mfa/enroll').set('Authorization', `Bearer ${fresh}`).expect(201);
  });

  it('answers a new and a taken address alike at registration (no account enumeration); only the mailbox learns which', async () => {
    const before = await app.get(DataSource).query(`SELECT zt_users_password_settings(id) AS settings FROM users WHERE email = 'a@example.com'`);
    const fresh = await http.post('/account/register').set(json).set('X-Altcha', await proof('register')).send({ email: 'new@example.com', password: PASSWORD });
    const taken = await http.post('/account/register').set(json).set('X-Altcha', await proof('register')).send({ email: 'A@example.com', password: 'another long passphrase' });
    expect(fresh.status).toBe(202);
    expect([taken.status, taken.body, taken.headers['content-length']]).toEqual([fresh.status, fresh.body, fresh.headers['content-length']]);
    expect((await mailed('new@example.com', 'verify_address')).text).toMatch(/token=/);
    expect((await mailed('a@example.com', 'registration_attempt')).text).toMatch(/already has one/);
    expect(await app.get(DataSource).query(`SELECT zt_users_password_settings(id) AS settings FROM users WHERE email = 'a@example.com'`)).toEqual(before);
    // Not verified yet: the same 401 as a wrong password.
    await http.post('/auth/login').set(json).send({ email: 'new@example.com', password: PASSWORD }).expect(401);
  });

  it('accepts a password-reset link once: the same link again is refused and changes nothing', async () => {
    await http.post('/auth/register').set(json).send({ email: 'reset@example.com', password: PASSWORD }).expect(201);
    await http.post('/account/password/forgot').set(json).set('X-Altcha', await proof('password_reset')).send({ email: 'reset@example.com' }).expect(202);
    const token = /token=([A-Za-z0-9_-]{43})/.exec((await mailed('reset@example.com', 'password_reset')).text)![1];
    await http.post('/account/password/reset').set(json).send({ token, password: 'staple mountain orange river' }).expect(204);
    const after = await accounts();
    await http.post('/account/password/reset').set(json).send({ token, password: 'yet another new passphrase' }).expect(400);
    expect(await accounts()).toEqual(after);
    await http.post('/auth/login').set(json).send({ email: 'reset@example.com', password: 'staple mountain orange river' }).expect(200);
  });

  it('rate-limits bursts on the login route', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await http.post('/auth/login').set(json).send({ email: `x${i}@example.com`, password: 'wrong password!!' })).status);
    expect(statuses).toContain(429);
  });
});

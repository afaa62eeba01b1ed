/**
 * Issue 20: the account lifecycle of the sample, on both adapters, as an attacker would try it:
 * proof of work (missing, reused, forged, expired, for another action, too easy once flagged),
 * enumeration-free registration with verification, password reset (reuse, guessing, expiry, a link
 * older than a password change, another account's), the password policy, and logins after failures.
 * Every refused attempt leaves the database as it was (`snapshot`).
 */
import type { INestApplication } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AuditService } from '../../lib/audit/audit.service.js';
import { Clock } from '../../lib/core/clock.js';
import { accountTag } from '../../lib/lifecycle/proof-of-work.service.js';
import { UsersAccountRegistry } from '../../sample/src/account/users-account.registry.js';
import { createSampleApp } from '../../sample/src/app.factory.js';
import { asOwner } from '../support/sample-database.js';
import { PLATFORMS } from '../support/test-app.js';
import { encode, json, mailedToken, mailer, PASSWORD, proof, snapshot, solve } from './lifecycle-support.js';

process.env.ZT_DB = 'memory';
process.env.ZT_AUTH_RATE_LIMIT = '10000';
process.env.ZT_POW_DIFFICULTY = '300';
process.env.ZT_POW_RAISED_DIFFICULTY = '3000';
// Each scenario speaks from its own client address (X-Forwarded-For from one trusted hop).
process.env.ZT_TRUST_PROXY = '1';

const NEW_PASSWORD = 'staple mountain orange river';
let addresses = 0;
const nextAddress = () => `198.51.100.${++addresses}`;

describe.each(PLATFORMS)('issue 20: account lifecycle of the sample (%s)', (platform) => {
  let app: INestApplication;
  let http: ReturnType<typeof request>;

  /** Registers through the lifecycle route and follows the verification link. */
  async function verifiedUser(email: string, password = PASSWORD) {
    const ip = nextAddress();
    await http.post('/account/register').set(json).set('X-Forwarded-For', ip).set('X-Altcha', await proof(http, 'register')).send({ email, password }).expect(202);
    await http.post('/account/verify').set(json).send({ token: await mailedToken(app, email, 'verify_address') }).expect(204);
  }
  const login = (email: string, password = PASSWORD) => http.post('/auth/login').set(json).send({ email, password });
  const forgot = async (email: string, ip = nextAddress()) =>
    http.post('/account/password/forgot').set(json).set('X-Forwarded-For', ip).set('X-Altcha', await proof(http, 'password_reset')).send({ email });

  beforeAll(async () => {
    app = await createSampleApp(platform, false);
    http = request(app.getHttpServer());
  });
  afterAll(() => app?.close());

  describe('proof of work', () => {
    it('refuses account creation without a solved challenge, and stores nothing', async () => {
      const before = await snapshot(app);
      const response = await http.post('/account/register').set(json).send({ email: 'nopow@example.com', password: PASSWORD });
      expect(response.status).toBe(403);
      expect(response.body.message).toMatch(/Proof of work required/);
      expect(await snapshot(app)).toBe(before);
    });

    it('accepts a solution once: the same payload again is refused and changes nothing', async () => {
      const payload = await proof(http, 'register');
      await http.post('/account/register').set(json).set('X-Altcha', payload).send({ email: 'once@example.com', password: PASSWORD }).expect(202);
      const before = await snapshot(app);
      await http.post('/account/register').set(json).set('X-Altcha', payload).send({ email: 'twice@example.com', password: PASSWORD }).expect(403);
      expect(await snapshot(app)).toBe(before);
    });

    it('takes the payload from the widget\'s `altcha` form field too (and keeps it out of the DTO)', async () => {
      const payload = await proof(http, 'register');
      await http.post('/account/register').set(json).send({ email: 'widget@example.com', password: PASSWORD, altcha: payload }).expect(202);
      await http.post('/account/register').set(json).send({ email: 'widget2@example.com', password: PASSWORD, altcha: payload }).expect(403);
    });

    it('refuses a forged challenge: a lowered difficulty, a changed prefix, another key\'s signature, no signature', async () => {
      const challenge = (await http.get('/account/challenge?action=register').expect(200)).body;
      const solution = await solve(challenge);
      const before = await snapshot(app);
      const forgeries = [
        { ...challenge, parameters: { ...challenge.parameters, data: { ...challenge.parameters.data, difficulty: 1 } } },
        { ...challenge, parameters: { ...challenge.parameters, keyPrefix: '00' } },
        { ...challenge, parameters: { ...challenge.parameters, expiresAt: challenge.parameters.expiresAt + 86_400 } },
        { ...challenge, signature: randomBytes(32).toString('hex') },
        { parameters: challenge.parameters },
      ];
      for (const forged of forgeries) {
        await http.post('/account/register').set(json).set('X-Altcha', encode(forged, solution)).send({ email: 'forged@example.com', password: PASSWORD }).expect(403);
      }
      // A made-up key (the derived key is the proof: without the work it cannot carry the key signature), and garbage.
      await http.post('/account/register').set(json).set('X-Altcha', encode(challenge, { ...solution, derivedKey: randomBytes(32).toString('hex') })).send({ email: 'forged@example.com', password: PASSWORD }).expect(403);
      for (const garbage of ['x', 'e30=', Buffer.from('[]').toString('base64'), 'A'.repeat(10_000)]) {
        await http.post('/account/register').set(json).set('X-Altcha', garbage).send({ email: 'forged@example.com', password: PASSWORD }).expect(403);
      }
      expect(await snapshot(app)).toBe(before);
      // The genuine pair still works: the refusals spent nothing.
      await http.post('/account/register').set(json).set('X-Altcha', encode(challenge, solution)).send({ email: 'genuine@example.com', password: PASSWORD }).expect(202);
    });

    it('refuses an expired challenge', async () => {
      const clock = app.get(Clock);
      const spy = vi.spyOn(clock, 'now').mockReturnValue(Date.now() - 3600_000);
      const challenge = (await http.get('/account/challenge?action=register').expect(200)).body;
      spy.mockRestore();
      expect(challenge.parameters.expiresAt * 1000).toBeLessThan(Date.now());
      const before = await snapshot(app);
      await http.post('/account/register').set(json).set('X-Altcha', encode(challenge, await solve(challenge))).send({ email: 'late@example.com', password: PASSWORD }).expect(403);
      expect(await snapshot(app)).toBe(before);
    });

    it('refuses work done for another action', async () => {
      const before = await snapshot(app);
      await http.post('/account/register').set(json).set('X-Altcha', await proof(http, 'password_reset')).send({ email: 'other@example.com', password: PASSWORD }).expect(403);
      expect(await snapshot(app)).toBe(before);
    });

    it('raises the difficulty for a client whose account attempts were locked out (anomaly), and refuses its easier challenges', async () => {
      const ip = '203.0.113.66';
      const easy = (await http.get('/account/challenge?action=register').set('X-Forwarded-For', ip).expect(200)).body;
      expect(easy.parameters.data.difficulty).toBe(300);
      await verifiedUser('locked@example.com');
      for (let i = 0; i < 5; i++) await login('locked@example.com', `wrong password ${i}`).set('X-Forwarded-For', ip).expect(401);
      await vi.waitFor(async () => {
        const raised = (await http.get('/account/challenge?action=register').set('X-Forwarded-For', ip).expect(200)).body;
        expect(raised.parameters.data.difficulty).toBe(3000);
      });
      const before = await snapshot(app);
      await http.post('/account/register').set(json).set('X-Forwarded-For', ip).set('X-Altcha', encode(easy, await solve(easy))).send({ email: 'flagged@example.com', password: PASSWORD }).expect(403);
      expect(await snapshot(app)).toBe(before);
      // The account is flagged too: a challenge asked for it from any address is the harder one.
      const forAccount = (await http.get('/account/challenge?action=login&email=locked%40example.com').set('X-Forwarded-For', nextAddress()).expect(200)).body;
      expect(forAccount.parameters.data.difficulty).toBe(3000);
      const payload = await proof(http, 'register');
      expect(payload.length).toBeGreaterThan(0);
      const hard = (await http.get('/account/challenge?action=register').set('X-Forwarded-For', ip).expect(200)).body;
      await http.post('/account/register').set(json).set('X-Forwarded-For', ip).set('X-Altcha', encode(hard, await solve(hard))).send({ email: 'flagged@example.com', password: PASSWORD }).expect(202);
    });

    it('raises the difficulty for the address and the account of an anomaly finding (anomaly.detected)', async () => {
      const ip = '203.0.113.77';
      expect((await http.get('/account/challenge?action=login&email=probed%40example.com').set('X-Forwarded-For', nextAddress()).expect(200)).body.parameters.data.difficulty).toBe(300);
      // What AnomalyDetector publishes for distributed_login_failure: the address of the event and the account tag.
      app.get(AuditService).publish({ type: 'anomaly.detected', outcome: 'denied', reason: 'distributed_login_failure', ip, details: { action: 'none', account: accountTag('probed@example.com') } });
      await vi.waitFor(async () => {
        expect((await http.get('/account/challenge?action=register').set('X-Forwarded-For', ip).expect(200)).body.parameters.data.difficulty).toBe(3000);
        expect((await http.get('/account/challenge?action=login&email=probed%40example.com').set('X-Forwarded-For', nextAddress()).expect(200)).body.parameters.data.difficulty).toBe(3000);
      });
      // Anyone else still gets the normal work.
      expect((await http.get('/account/challenge?action=register').set('X-Forwarded-For', nextAddress()).expect(200)).body.parameters.data.difficulty).toBe(300);
    });

    it('asks a client for work at login only after failures, then accepts a login with it', async () => {
      const ip = nextAddress();
      await verifiedUser('failing@example.com');
      for (let i = 0; i < 3; i++) {
        await http.post('/account/login').set(json).set('X-Forwarded-For', ip).send({ email: 'failing@example.com', password: `not it ${i}` }).expect(401);
      }
      await vi.waitFor(() => http.post('/account/login').set(json).set('X-Forwarded-For', ip).send({ email: 'failing@example.com', password: PASSWORD }).expect(403));
      const response = await http
        .post('/account/login')
        .set(json)
        .set('X-Forwarded-For', ip)
        .set('X-Altcha', await proof(http, 'login'))
        .send({ email: 'failing@example.com', password: PASSWORD })
        .expect(200);
      expect(response.body.accessToken).toBeTypeOf('string');
      // Another client, with no failures, signs in without work.
      await http.post('/account/login').set(json).set('X-Forwarded-For', nextAddress()).send({ email: 'failing@example.com', password: PASSWORD }).expect(200);
    });
  });

  describe('registration without enumeration, and address verification', () => {
    it('answers a new and a taken address alike; only the mailbox learns which', async () => {
      await verifiedUser('taken@example.com');
      const before = await asOwner<{ password_hash: string }>(app, `SELECT password_hash FROM users WHERE email = 'taken@example.com'`);
      const fresh = await http.post('/account/register').set(json).set('X-Altcha', await proof(http, 'register')).send({ email: 'fresh@example.com', password: PASSWORD });
      const taken = await http.post('/account/register').set(json).set('X-Altcha', await proof(http, 'register')).send({ email: 'TAKEN@example.com', password: 'another long passphrase' });
      expect(taken.status).toBe(fresh.status);
      expect(taken.body).toEqual(fresh.body);
      expect(taken.headers['content-length']).toBe(fresh.headers['content-length']);
      await mailedToken(app, 'fresh@example.com', 'verify_address');
      await vi.waitFor(() => expect(mailer(app).last('taken@example.com', 'registration_attempt')?.text).toMatch(/tried to create an account/));
      expect(await asOwner(app, `SELECT password_hash FROM users WHERE email = 'taken@example.com'`)).toEqual(before);
    });

    it('answers the old quick-start route alike for a new and a taken address (no more 409)', async () => {
      const fresh = await http.post('/auth/register').set(json).send({ email: 'quick@example.com', password: PASSWORD });
      const taken = await http.post('/auth/register').set(json).send({ email: 'quick@example.com', password: PASSWORD });
      expect(fresh.status).toBe(201);
      expect([taken.status, taken.body]).toEqual([fresh.status, fresh.body]);
    });

    it('refuses sign-in to an unverified account exactly like a wrong password, until the link is followed', async () => {
      await http.post('/account/register').set(json).set('X-Altcha', await proof(http, 'register')).send({ email: 'pending@example.com', password: PASSWORD }).expect(202);
      const unverified = await login('pending@example.com');
      const wrong = await login('taken@example.com', 'wrong horse battery');
      expect([unverified.status, unverified.body]).toEqual([401, wrong.body]);
      const token = await mailedToken(app, 'pending@example.com', 'verify_address');
      // A guessed token, then the real one, then the real one again.
      const before = await snapshot(app);
      await http.post('/account/verify').set(json).send({ token: randomBytes(32).toString('base64url') }).expect(400);
      expect(await snapshot(app)).toBe(before);
      await http.post('/account/verify').set(json).send({ token }).expect(204);
      const after = await snapshot(app);
      await http.post('/account/verify').set(json).send({ token }).expect(400);
      expect(await snapshot(app)).toBe(after);
      await login('pending@example.com').expect(200);
    });
  });

  describe('password reset', () => {
    it('answers a known and an unknown address alike, and mails only the known one', async () => {
      await verifiedUser('known@example.com');
      const known = await forgot('known@example.com');
      const unknown = await forgot('nobody-here@example.com');
      expect(known.status).toBe(202);
      expect([unknown.status, unknown.body]).toEqual([known.status, known.body]);
      await mailedToken(app, 'known@example.com', 'password_reset');
      expect(mailer(app).last('nobody-here@example.com')).toBeUndefined();
    });

    it('resets with the link once, revokes every session, and refuses the link again (nothing changes)', async () => {
      await verifiedUser('reset@example.com');
      const session = (await login('reset@example.com').expect(200)).body;
      await forgot('reset@example.com').then((r) => expect(r.status).toBe(202));
      const token = await mailedToken(app, 'reset@example.com', 'password_reset');
      await http.post('/account/password/reset').set(json).send({ token, password: NEW_PASSWORD }).expect(204);
      await login('reset@example.com').expect(401);
      await login('reset@example.com', NEW_PASSWORD).expect(200);
      await http.get('/notes').set('Authorization', `Bearer ${session.accessToken}`).expect(401);
      await http.post('/auth/refresh').set(json).send({ refreshToken: session.refreshToken }).expect(401);
      const before = await snapshot(app);
      await http.post('/account/password/reset').set(json).send({ token, password: 'yet another new passphrase' }).expect(400);
      expect(await snapshot(app)).toBe(before);
      await login('reset@example.com', NEW_PASSWORD).expect(200);
    });

    it('refuses guessed, malformed and expired links, and changes nothing', async () => {
      await verifiedUser('expiry@example.com');
      await forgot('expiry@example.com');
      const token = await mailedToken(app, 'expiry@example.com', 'password_reset');
      const before = await snapshot(app);
      for (let i = 0; i < 20; i++) {
        await http.post('/account/password/reset').set(json).send({ token: randomBytes(32).toString('base64url'), password: NEW_PASSWORD }).expect(400);
      }
      await http.post('/account/password/reset').set(json).send({ token: `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`, password: NEW_PASSWORD }).expect(400);
      await http.post('/account/password/reset').set(json).send({ token: 'short', password: NEW_PASSWORD }).expect(400);
      expect(await snapshot(app)).toBe(before);
      await asOwner(app, `UPDATE zt_account_tokens SET expires_at = now() - interval '1 second' WHERE purpose = 'reset' AND used_at IS NULL`);
      const expired = await snapshot(app);
      await http.post('/account/password/reset').set(json).send({ token, password: NEW_PASSWORD }).expect(400);
      expect(await snapshot(app)).toBe(expired);
      await login('expiry@example.com').expect(200);
    });

    it('voids a link mailed before the password was changed', async () => {
      await verifiedUser('changed@example.com');
      await forgot('changed@example.com');
      const token = await mailedToken(app, 'changed@example.com', 'password_reset');
      const { accessToken } = (await login('changed@example.com').expect(200)).body;
      await http.post('/auth/password').set(json).set('Authorization', `Bearer ${accessToken}`).send({ currentPassword: PASSWORD, newPassword: NEW_PASSWORD }).expect(204);
      const before = await snapshot(app);
      await http.post('/account/password/reset').set(json).send({ token, password: 'attacker chosen passphrase' }).expect(400);
      expect(await snapshot(app)).toBe(before);
      await login('changed@example.com', NEW_PASSWORD).expect(200);
    });

    it('voids a link when the password changed by a way that publishes no event (the password stamp)', async () => {
      await verifiedUser('stamp@example.com');
      await forgot('stamp@example.com');
      const token = await mailedToken(app, 'stamp@example.com', 'password_reset');
      const [{ id }] = await asOwner<{ id: string }>(app, `SELECT id FROM users WHERE email = 'stamp@example.com'`);
      // An operator's script, say: the hash changes, no password.changed event is published.
      await app.get(UsersAccountRegistry).setPassword(id, NEW_PASSWORD);
      const before = await snapshot(app);
      await http.post('/account/password/reset').set(json).send({ token, password: 'attacker chosen passphrase' }).expect(400);
      expect(await snapshot(app)).toBe(before);
      await login('stamp@example.com', NEW_PASSWORD).expect(200);
    });

    it('never resets another account: the link is the account, a named one is refused', async () => {
      await verifiedUser('mallory@example.com');
      await verifiedUser('victim@example.com');
      await forgot('mallory@example.com');
      const token = await mailedToken(app, 'mallory@example.com', 'password_reset');
      const before = await snapshot(app);
      await http.post('/account/password/reset').set(json).send({ token, password: NEW_PASSWORD, email: 'victim@example.com' }).expect(400);
      expect(await snapshot(app)).toBe(before);
      await http.post('/account/password/reset').set(json).send({ token, password: NEW_PASSWORD }).expect(204);
      await login('victim@example.com').expect(200);
      await login('mallory@example.com', NEW_PASSWORD).expect(200);
    });

    it('says why a weak new password is refused, and keeps the link usable', async () => {
      await verifiedUser('weak@example.com');
      await forgot('weak@example.com');
      const token = await mailedToken(app, 'weak@example.com', 'password_reset');
      const before = await snapshot(app);
      const weak = await http.post('/account/password/reset').set(json).send({ token, password: 'password1234' }).expect(400);
      expect(weak.body.message).toEqual([expect.stringMatching(/too common/)]);
      expect(await snapshot(app)).toBe(before);
      await http.post('/account/password/reset').set(json).send({ token, password: NEW_PASSWORD }).expect(204);
    });

    it('limits requests per account (from any address) and per client address, for known and unknown names alike', async () => {
      await verifiedUser('limited@example.com');
      for (const email of ['limited@example.com', 'unknown-limit@example.com']) {
        for (let i = 0; i < 3; i++) expect((await forgot(email)).status).toBe(202);
        expect((await forgot(email)).status).toBe(429);
      }
      const ip = nextAddress();
      for (let i = 0; i < 10; i++) expect((await forgot(`spray${i}@example.com`, ip)).status).toBe(202);
      expect((await forgot('spray-last@example.com', ip)).status).toBe(429);
    });
  });

  describe('password policy (NIST SP 800-63B)', () => {
    it.each([
      ['password1234', /too common/],
      ['qwertyuiopasdf', /too common/],
      ['aaaaaaaaaaaaaaaa', /too easy to guess/],
      ['shortpass', /at least 12 characters/],
      ['policy-person-2024!', /must not contain your e-mail address/],
      ['x'.repeat(129), /at most 128 characters/],
    ])('refuses %s with a 400 that says why, and stores nothing', async (password, why) => {
      const before = await snapshot(app);
      const response = await http.post('/account/register').set(json).set('X-Altcha', await proof(http, 'register')).send({ email: 'policy-person@example.com', password });
      expect(response.status).toBe(400);
      expect(response.body.message).toEqual([expect.stringMatching(why)]);
      expect(await snapshot(app)).toBe(before);
    });

    it('accepts a long passphrase without composition rules, and any script', async () => {
      await http.post('/account/register').set(json).set('X-Altcha', await proof(http, 'register')).send({ email: 'unicode@example.com', password: 'ünïcödé ꙮ 漢字 passphrase' }).expect(202);
    });
  });
});

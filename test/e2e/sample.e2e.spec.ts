import type { INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DEFAULT_SECURITY_HEADERS } from '../../lib/http/security-headers.js';
import { totpCode, totpStep } from '../../lib/mfa/totp.js';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSampleApp } from '../../sample/src/app.factory.js';
import { PLATFORMS } from '../support/test-app.js';
import { listRoutes } from '../support/routes.js';
import { asOwner, auditEvents } from '../support/sample-database.js';

process.env.ZT_DB = 'memory';
// Many logins from one test client: the auth rate limit itself is tested in test/throttle.
process.env.ZT_AUTH_RATE_LIMIT = '10000';

describe.each(PLATFORMS)('sample notes API (%s)', (platform) => {
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  let alice: string;
  let bob: string;

  const register = (email: string, password = 'correct horse battery') =>
    http.post('/auth/register').set('Content-Type', 'application/json').send({ email, password });
  const login = async (email: string, password = 'correct horse battery') =>
    (await http.post('/auth/login').set('Content-Type', 'application/json').send({ email, password }).expect(200)).body.accessToken as string;
  const countNotes = () => asOwner<{ n: number }>(app, 'SELECT count(*)::int AS n FROM notes').then((rows) => rows[0].n);

  beforeAll(async () => {
    app = await createSampleApp(platform, false);
    http = request(app.getHttpServer());
    await register('alice@example.com').expect(201);
    await register('bob@example.com').expect(201);
    alice = await login('alice@example.com');
    bob = await login('bob@example.com');
  });
  afterAll(() => app?.close());

  it('denies every non-public route without a token (walks all registered routes)', async () => {
    const routes = listRoutes(app);
    expect(routes.length).toBeGreaterThanOrEqual(10);
    for (const route of routes) {
      const path = route.path.replace(/:[A-Za-z]+/g, randomUUID());
      const response = await http[route.method.toLowerCase() as 'get'](path);
      if (route.isPublic) {
        // A public route may still answer 401 for its own reasons (a bad refresh token), never the guard's challenge.
        expect(response.headers['www-authenticate'], `${route.method} ${route.path}`).toBeUndefined();
      } else {
        expect(response.status, `${route.method} ${route.path} (${route.name}) must need a token`).toBe(401);
        expect(response.headers['content-security-policy']).toBe(DEFAULT_SECURITY_HEADERS['Content-Security-Policy']);
      }
    }
    expect(routes.filter((r) => r.isPublic).map((r) => `${r.method} ${r.path}`).sort()).toEqual([
      'GET /.well-known/jwks.json',
      'GET /account/challenge',
      'GET /health',
      // API-key route: public to the token guard, its ApiKeyGuard answers 401 without a challenge.
      'GET /integrations/whoami',
      'POST /account/login',
      'POST /account/passkeys/sign-in',
      'POST /account/passkeys/sign-in-options',
      'POST /account/password/forgot',
      'POST /account/password/reset',
      'POST /account/register',
      'POST /account/verify',
      'POST /auth/dpop/login',
      'POST /auth/dpop/refresh',
      'POST /auth/login',
      'POST /auth/refresh',
      'POST /auth/register',
      'POST /oauth/token',
    ]);
  });

  it('serves health and the public JWKS (no private key material)', async () => {
    await http.get('/health').expect(200, { status: 'ok' });
    const jwks = (await http.get('/.well-known/jwks.json').expect(200)).body;
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(jwks.keys[0].d).toBeUndefined();
  });

  it('issues short-lived bearer tokens at login', async () => {
    const response = await http.post('/auth/login').set('Content-Type', 'application/json').send({ email: 'ALICE@example.com ', password: 'correct horse battery' }).expect(200);
    expect(response.body).toMatchObject({ tokenType: 'Bearer', expiresIn: 900 });
    const [header] = response.body.accessToken.split('.');
    expect(JSON.parse(Buffer.from(header, 'base64url').toString())).toMatchObject({ alg: 'ES256', typ: 'at+jwt' });
  });

  it('answers a wrong email and a wrong password with the same 401 body', async () => {
    const wrongEmail = await http.post('/auth/login').set('Content-Type', 'application/json').send({ email: 'nobody@example.com', password: 'correct horse battery' });
    const wrongPassword = await http.post('/auth/login').set('Content-Type', 'application/json').send({ email: 'alice@example.com', password: 'wrong horse battery' });
    expect(wrongEmail.status).toBe(401);
    expect(wrongPassword.status).toBe(401);
    expect(wrongEmail.body).toEqual(wrongPassword.body);
  });

  it('answers a taken address like a new one (no 409: registration is no account oracle), and rejects a weak password', async () => {
    const taken = await register('alice@example.com').expect(201);
    const fresh = await register('erin@example.com').expect(201);
    expect(taken.body).toEqual(fresh.body);
    await register('carol@example.com', 'short').expect(400);
    await register('not-an-email').expect(400);
  });

  it('never returns the password hash', async () => {
    const response = await register('dave@example.com').expect(201);
    expect(Object.keys(response.body).sort()).toEqual(['message', 'status']);
  });

  it('rejects a note with an extra ownerId field with 400 and stores nothing', async () => {
    const before = await countNotes();
    const response = await http
      .post('/notes')
      .set('Authorization', `Bearer ${alice}`)
      .set('Content-Type', 'application/json')
      .send({ title: 'mine', body: 'text', ownerId: randomUUID() })
      .expect(400);
    expect(response.body.message).toContain('property ownerId should not exist');
    expect(await countNotes()).toBe(before);
  });

  it('creates, reads, updates and deletes the caller\'s own note', async () => {
    const created = (
      await http.post('/notes').set('Authorization', `Bearer ${alice}`).set('Content-Type', 'application/json').send({ title: 't', body: 'b' }).expect(201)
    ).body;
    await http.get(`/notes/${created.id}`).set('Authorization', `Bearer ${alice}`).expect(200);
    const updated = await http
      .patch(`/notes/${created.id}`)
      .set('Authorization', `Bearer ${alice}`)
      .set('Content-Type', 'application/json')
      .send({ title: 'new' })
      .expect(200);
    expect(updated.body.title).toBe('new');
    expect((await http.get('/notes').set('Authorization', `Bearer ${alice}`).expect(200)).body.map((n: { id: string }) => n.id)).toContain(created.id);
    await http.delete(`/notes/${created.id}`).set('Authorization', `Bearer ${alice}`).expect(204);
    await http.get(`/notes/${created.id}`).set('Authorization', `Bearer ${alice}`).expect(404);
  });

  it('keeps one user\'s notes away from another (404, not 403) and leaves them unchanged', async () => {
    const note = (
      await http.post('/notes').set('Authorization', `Bearer ${alice}`).set('Content-Type', 'application/json').send({ title: 'secret', body: 'b' }).expect(201)
    ).body;
    await http.get(`/notes/${note.id}`).set('Authorization', `Bearer ${bob}`).expect(404);
    await http.patch(`/notes/${note.id}`).set('Authorization', `Bearer ${bob}`).set('Content-Type', 'application/json').send({ title: 'pwned' }).expect(404);
    await http.delete(`/notes/${note.id}`).set('Authorization', `Bearer ${bob}`).expect(404);
    expect((await http.get('/notes').set('Authorization', `Bearer ${bob}`).expect(200)).body).toEqual([]);
    const [row] = await asOwner<{ title: string }>(app, 'SELECT title FROM notes WHERE id = $1', [note.id]);
    expect(row.title).toBe('secret');
  });

  it('caps a list at 100 notes however many are asked for', async () => {
    const [{ id }] = await app.get(DataSource).query(`SELECT id FROM users WHERE email = 'bob@example.com'`);
    await asOwner(app, `INSERT INTO notes (id, owner_id, title, body) SELECT gen_random_uuid(), $1, 'n' || n, 'b' FROM generate_series(1, 120) AS n`, [id]);
    expect((await http.get('/notes?limit=1000000').set('Authorization', `Bearer ${bob}`).expect(200)).body).toHaveLength(100);
    await http.get(`/notes?ownerId=${id}`).set('Authorization', `Bearer ${alice}`).expect(400);
  });

  it('serves GET /admin/audit only to a token with the audit:read scope', async () => {
    await http.get('/admin/audit').set('Authorization', `Bearer ${alice}`).expect(403);
    await register('carol-admin@example.com').expect(201);
    await asOwner(app, `UPDATE users SET scopes = '{audit:read,notes:admin}' WHERE email = 'carol-admin@example.com'`);
    const withoutMfa = await login('carol-admin@example.com');
    // The scope alone is not enough: admin routes demand an MFA-verified session.
    await http.get('/admin/audit').set('Authorization', `Bearer ${withoutMfa}`).expect(403);
    const { secret } = (await http.post('/auth/mfa/enroll').set('Authorization', `Bearer ${withoutMfa}`).expect(201)).body;
    await http.post('/auth/mfa/confirm').set('Authorization', `Bearer ${withoutMfa}`).set('Content-Type', 'application/json').send({ code: totpCode(secret, totpStep()) }).expect(200);
    const admin = (
      await http.post('/auth/login').set('Content-Type', 'application/json').send({ email: 'carol-admin@example.com', password: 'correct horse battery', otp: totpCode(secret, totpStep() + 1) }).expect(200)
    ).body.accessToken;
    await auditEvents(app, 'access.denied'); // flush the buffered trail
    const page = (await http.get('/admin/audit?type=access.denied&limit=2').set('Authorization', `Bearer ${admin}`).expect(200)).body;
    expect(page.events).toHaveLength(2);
    expect(page.events.every((e: { type: string }) => e.type === 'access.denied')).toBe(true);
    const next = (await http.get(`/admin/audit?type=access.denied&limit=2&before=${page.next}`).set('Authorization', `Bearer ${admin}`).expect(200)).body;
    expect(Number(next.events[0].id)).toBeLessThan(Number(page.next));
    // notes:admin is the explicit override for reading any note.
    const note = (await http.post('/notes').set('Authorization', `Bearer ${alice}`).set('Content-Type', 'application/json').send({ title: 'x', body: 'y' }).expect(201)).body;
    await http.get(`/notes/${note.id}`).set('Authorization', `Bearer ${admin}`).expect(200);
    await http.delete(`/notes/${note.id}`).set('Authorization', `Bearer ${admin}`).expect(404);
  });

  it('rejects ids that are not UUIDs with 400', async () => {
    for (const id of ['1', '../users', "' OR 1=1 --"]) {
      await http.get(`/notes/${encodeURIComponent(id)}`).set('Authorization', `Bearer ${alice}`).expect(400);
    }
  });
});

import type { INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSampleApp } from '../../sample/src/app.factory.js';
import { asOwner, auditEvents } from '../support/sample-database.js';

process.env.ZT_DB = 'memory';
process.env.ZT_AUTH_RATE_LIMIT = '10000';
const PASSWORD = 'correct horse battery';

/** The sample's durable audit trail, its metrics, and the anomaly rule that reacts to object-id probing. */
describe('audit trail, metrics and anomaly detection on the sample', () => {
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  const json = { 'Content-Type': 'application/json' };
  const login = async (email: string) => (await http.post('/auth/login').set(json).send({ email, password: PASSWORD }).expect(200)).body;

  beforeAll(async () => {
    app = await createSampleApp('express', false);
    http = request(app.getHttpServer());
    for (const email of ['alice@example.com', 'bob@example.com', 'ops@example.com']) await http.post('/auth/register').set(json).send({ email, password: PASSWORD }).expect(201);
  });
  afterAll(() => app?.close());

  it('writes each security outcome to zt_audit_log with when, where, who and what', async () => {
    const alice = await login('alice@example.com');
    const bob = await login('bob@example.com');
    await http.post('/auth/login').set(json).set('X-Request-Id', 'forged').send({ email: 'alice@example.com', password: 'wrong password!!' }).expect(401);
    const note = (await http.post('/notes').set('Authorization', `Bearer ${alice.accessToken}`).set(json).send({ title: 'secret', body: 'text' }).expect(201)).body;
    await http.get(`/notes/${note.id}`).set('Authorization', `Bearer ${bob.accessToken}`).expect(404);
    await http.get('/notes').set('Authorization', 'Bearer not.a.token').expect(401);

    const [denied] = await auditEvents(app, 'access.denied', 1);
    // Row-level security hides A's note from B entirely, so the database says "not found".
    expect(denied).toMatchObject({ reason: 'not_found', subject: expect.any(String), sessionId: bob.sessionId, route: '/notes/:id', details: { rule: 'OwnsResource(Note)', resource: 'Note', resourceId: note.id } });
    expect(JSON.stringify(denied)).not.toContain('secret');
    const [badCredentials] = await auditEvents(app, 'auth.failure', 5).then((rows) => rows.filter((row) => row.reason === 'bad_credentials'));
    expect(badCredentials.details).toEqual({ account: expect.stringMatching(/^[0-9a-f]{12}$/) });
    const [created] = await auditEvents(app, 'session.created', 1);
    expect(created.sessionId).toBeDefined();
    const rows = await asOwner<{ time: Date; request_id: string; ip: string }>(app, 'SELECT time, request_id, ip FROM zt_audit_log');
    expect(rows.every((row) => row.time instanceof Date && /^[0-9a-f-]{36}$/.test(row.request_id ?? '00000000-0000-0000-0000-000000000000'))).toBe(true);
    // Neither tokens nor passwords ever reach the trail.
    const everything = JSON.stringify(await asOwner(app, 'SELECT * FROM zt_audit_log'));
    for (const secret of [alice.accessToken, alice.refreshToken, alice.accessToken.split('.')[2], PASSWORD, 'forged']) expect(everything).not.toContain(secret);
  });

  it('serves metrics only to a token with metrics:read, in Prometheus format', async () => {
    const alice = await login('alice@example.com');
    await http.get('/metrics').set('Authorization', `Bearer ${alice.accessToken}`).expect(403);
    await asOwner(app, `UPDATE users SET scopes = '{metrics:read}' WHERE email = 'ops@example.com'`);
    const scraper = await login('ops@example.com');
    const response = await http.get('/metrics').set('Authorization', `Bearer ${scraper.accessToken}`).expect(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain/);
    expect(response.text).toMatch(/zt_auth_total\{outcome="failure",reason="malformed"\} \d+/);
    expect(response.text).toMatch(/zt_access_denied_total\{reason="not_found",rule="OwnsResource\(Note\)"\} \d+/);
    expect(response.text).toMatch(/zt_token_verification_seconds_bucket\{le="0.005",outcome="success"\} \d+/);
  });

  it('reacts to object-id probing: 10 ownership denials revoke the probing session', async () => {
    await http.post('/auth/register').set(json).send({ email: 'mallory@example.com', password: PASSWORD }).expect(201);
    const bob = await login('mallory@example.com');
    const probe = (id: string) => http.get(`/notes/${id}`).set('Authorization', `Bearer ${bob.accessToken}`);
    for (let i = 0; i < 9; i++) await probe(randomUUID()).expect(404);
    await http.get('/notes').set('Authorization', `Bearer ${bob.accessToken}`).expect(200);
    await probe(randomUUID()).expect(404);
    const [anomaly] = await auditEvents(app, 'anomaly.detected', 1);
    expect(anomaly).toMatchObject({ reason: 'bola_probe', sessionId: bob.sessionId, details: { action: 'revoke_session', denials: 10, distinctIds: 10 } });
    let status = 200;
    for (let i = 0; i < 20 && status === 200; i++) {
      status = (await http.get('/notes').set('Authorization', `Bearer ${bob.accessToken}`)).status;
      if (status === 200) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(status).toBe(401);
  });
});

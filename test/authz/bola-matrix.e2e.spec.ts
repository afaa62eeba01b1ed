import type { INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { TokenService } from 'nestjs-zero-trust';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaptureAuditSink } from '../support/capture-audit.sink.js';
import { PLATFORMS } from '../support/test-app.js';
import { createAuthzApp } from './authz-app.js';

const A = randomUUID();
const B = randomUUID();
const ADMIN = randomUUID();

describe.each(PLATFORMS)('resource authorization: users A, B and an admin (%s)', (platform) => {
  let app: INestApplication;
  let audit: CaptureAuditSink;
  let db: DataSource;
  let tokenA: string;
  let tokenB: string;
  let tokenAdmin: string;
  let tokenEditor: string;
  let projectA: string;
  let projectB: string;
  let taskA: string;
  let taskB: string;

  const as = (token: string) => ({ Authorization: `Bearer ${token}` });
  const json = { 'Content-Type': 'application/json' };
  const rowOf = async (id: string) => (await db.query('SELECT "ownerId", name FROM projects WHERE id = $1', [id]))[0];

  beforeAll(async () => {
    ({ app, audit } = await createAuthzApp(platform));
    db = app.get(DataSource);
    const tokens = app.get(TokenService);
    tokenA = tokens.issueAccessToken({ subject: A }).accessToken;
    tokenB = tokens.issueAccessToken({ subject: B }).accessToken;
    tokenAdmin = tokens.issueAccessToken({ subject: ADMIN, scopes: ['projects:admin', 'audit:read'] }).accessToken;
    tokenEditor = tokens.issueAccessToken({ subject: ADMIN, claims: { roles: ['editor'] } }).accessToken;
    [{ id: projectA }] = await db.query(`INSERT INTO projects ("ownerId", name) VALUES ($1, 'a-project') RETURNING id`, [A]);
    [{ id: projectB }] = await db.query(`INSERT INTO projects ("ownerId", name) VALUES ($1, 'b-project') RETURNING id`, [B]);
    [{ id: taskA }] = await db.query(`INSERT INTO tasks ("projectId", title) VALUES ($1, 'a-task') RETURNING id`, [projectA]);
    [{ id: taskB }] = await db.query(`INSERT INTO tasks ("projectId", title) VALUES ($1, 'b-task') RETURNING id`, [projectB]);
  });
  afterAll(() => app?.close());

  it('answers 401, not 404, without a token (authentication runs first)', async () => {
    await request(app.getHttpServer()).get(`/projects/${projectB}`).expect(401);
  });

  it("lets A read A's project, without sensitive fields", async () => {
    const response = await request(app.getHttpServer()).get(`/projects/${projectA}`).set(as(tokenA)).expect(200);
    expect(response.body).toEqual({ id: projectA, ownerId: A, name: 'a-project' });
  });

  it.each(['get', 'patch', 'put', 'delete'] as const)("answers A's %s of B's project with 404 and leaves it unchanged", async (method) => {
    audit.clear();
    const response = await request(app.getHttpServer())[method](`/projects/${projectB}`).set(as(tokenA)).set(json).send({ name: 'pwned' });
    expect(response.status).toBe(404);
    expect(await rowOf(projectB)).toEqual({ ownerId: B, name: 'b-project' });
    const event = audit.last('access.denied');
    expect(event).toMatchObject({ outcome: 'denied', reason: 'not_owner', principal: { subject: A }, details: { rule: 'OwnsResource(Project)', resource: 'Project', resourceId: projectB } });
    expect(JSON.stringify(event)).not.toContain('b-project');
  });

  it('gives the same answer for another user\'s id and an id that does not exist (no existence oracle)', async () => {
    const theirs = await request(app.getHttpServer()).get(`/projects/${projectB}`).set(as(tokenA));
    const missing = await request(app.getHttpServer()).get(`/projects/${randomUUID()}`).set(as(tokenA));
    expect(theirs.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(theirs.body).toEqual(missing.body);
  });

  it('answers 403 where the route asks for it', async () => {
    await request(app.getHttpServer()).get(`/projects/${projectB}/explicit`).set(as(tokenA)).expect(403);
    await request(app.getHttpServer()).get(`/projects/${projectA}/explicit`).set(as(tokenA)).expect(200);
  });

  it('lists only the caller\'s rows', async () => {
    const mine = (await request(app.getHttpServer()).get('/projects').set(as(tokenA)).expect(200)).body;
    expect(mine.map((p: { ownerId: string }) => p.ownerId)).toEqual(mine.map(() => A));
    expect(mine.map((p: { id: string }) => p.id)).toContain(projectA);
    expect(mine.map((p: { id: string }) => p.id)).not.toContain(projectB);
    expect(JSON.stringify(mine)).not.toContain('apiKeyHash');
  });

  it.each([`?id=${B}`, `?ownerId=${B}`, `?where[ownerId]=${B}`])('refuses ids smuggled in the query (%s) with 400', async (query) => {
    await request(app.getHttpServer()).get(`/projects${query}`).set(as(tokenA)).expect(400);
  });

  it('caps the page size at 100 whatever limit is asked', async () => {
    await db.query(`INSERT INTO projects ("ownerId", name) SELECT $1, 'bulk-' || n FROM generate_series(1, 120) AS n`, [A]);
    const page = (await request(app.getHttpServer()).get('/projects?limit=1000000').set(as(tokenA)).expect(200)).body;
    expect(page).toHaveLength(100);
  });

  it.each([
    ['ownerId', { name: 'x', ownerId: B }],
    ['id', { name: 'x', id: randomUUID() }],
    ['owner', { name: 'x', owner: { id: B } }],
  ])('refuses mass assignment of %s in POST and PATCH with 400, changing nothing', async (_field, body) => {
    const before = await db.query('SELECT count(*)::int AS n FROM projects');
    await request(app.getHttpServer()).post('/projects').set(as(tokenA)).set(json).send(body).expect(400);
    await request(app.getHttpServer()).patch(`/projects/${projectA}`).set(as(tokenA)).set(json).send(body).expect(400);
    expect(await db.query('SELECT count(*)::int AS n FROM projects')).toEqual(before);
    expect(await rowOf(projectA)).toEqual({ ownerId: A, name: 'a-project' });
  });

  it('refuses __proto__ in a body', async () => {
    await request(app.getHttpServer()).post('/projects').set(as(tokenA)).set(json).send('{"name":"x","__proto__":{"ownerId":"b"}}').expect(400);
  });

  it('creates rows owned by the caller, whatever else is sent', async () => {
    const created = (await request(app.getHttpServer()).post('/projects').set(as(tokenB)).set(json).send({ name: 'new-b' }).expect(201)).body;
    expect(created).toMatchObject({ ownerId: B, name: 'new-b' });
    expect(created.apiKeyHash).toBeUndefined();
  });

  it.each([
    ['a non-UUID', '123', 400],
    ['a path-traversal id', '..%2F..%2Fetc', 400],
    ['an operator object', encodeURIComponent('{"$ne":null}'), 400],
    ['a comma list', `${'a'.repeat(8)},${'b'.repeat(8)}`, 400],
  ])('answers %s with %i', async (_name, id, status) => {
    await request(app.getHttpServer()).get(`/projects/${id}`).set(as(tokenA)).expect(status);
  });

  it('treats an upper-case UUID as the same id: still the owner\'s only', async () => {
    await request(app.getHttpServer()).get(`/projects/${projectA.toUpperCase()}`).set(as(tokenA)).expect(200);
    await request(app.getHttpServer()).get(`/projects/${projectB.toUpperCase()}`).set(as(tokenA)).expect(404);
  });

  it('checks the parent chain of nested resources', async () => {
    await request(app.getHttpServer()).get(`/projects/${projectA}/tasks/${taskA}`).set(as(tokenA)).expect(200);
    // B's task under A's project: the child does not belong to that parent.
    await request(app.getHttpServer()).get(`/projects/${projectA}/tasks/${taskB}`).set(as(tokenA)).expect(404);
    expect(audit.last('access.denied')?.reason).toBe('parent_mismatch');
    // B's task under B's project: the parent is not A's.
    await request(app.getHttpServer()).get(`/projects/${projectB}/tasks/${taskB}`).set(as(tokenA)).expect(404);
    expect(audit.last('access.denied')?.reason).toBe('not_owner');
  });

  it('follows an owner relation path (task -> project.ownerId)', async () => {
    await request(app.getHttpServer()).get(`/projects/tasks/${taskA}/by-relation`).set(as(tokenA)).expect(200);
    await request(app.getHttpServer()).get(`/projects/tasks/${taskB}/by-relation`).set(as(tokenA)).expect(404);
  });

  it('lets an explicit admin scope through, and only that scope', async () => {
    await request(app.getHttpServer()).get(`/admin/projects/${projectB}`).set(as(tokenAdmin)).expect(200);
    await request(app.getHttpServer()).get(`/admin/projects/${projectB}`).set(as(tokenA)).expect(404);
  });

  it('requires every scope of @Scopes', async () => {
    await request(app.getHttpServer()).get('/admin/audit').set(as(tokenA)).expect(403);
    expect(audit.last('access.denied')).toMatchObject({ reason: 'missing_scope', details: { rule: 'Scopes(audit:read)' } });
    await request(app.getHttpServer()).get('/admin/audit').set(as(tokenAdmin)).expect(200, { reader: ADMIN });
  });

  it('requires one of the roles of @Roles', async () => {
    await request(app.getHttpServer()).get('/admin/editors').set(as(tokenA)).expect(403);
    await request(app.getHttpServer()).get('/admin/editors').set(as(tokenEditor)).expect(200);
  });

  it("B's data is unchanged after every attempt", async () => {
    expect(await rowOf(projectB)).toEqual({ ownerId: B, name: 'b-project' });
    expect((await db.query('SELECT title FROM tasks WHERE id = $1', [taskB]))[0].title).toBe('b-task');
  });
});

import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSampleApp } from '../../sample/src/app.factory.js';
import { toNodeId } from '../../sample/src/notes/note.model.js';
import { PLATFORMS } from '../support/test-app.js';
import { closedWithin, connectGraphqlWs, type GraphqlWsTestClient } from './graphql-ws-client.js';

process.env.ZT_DB = 'memory';
process.env.ZT_AUTH_RATE_LIMIT = '10000';
const PASSWORD = 'correct horse battery';
const ORIGIN = 'http://localhost:3000';

type GqlResponse = { data?: Record<string, any> | null; errors?: Array<{ message: string; path?: string[]; extensions?: Record<string, unknown> }> };

describe.each(PLATFORMS)("sample: the notes' GraphQL API is owner-only (%s)", (platform) => {
  let app: INestApplication;
  let counter = 0;
  let alice: string;
  let bob: string;
  let aliceNote: string;
  let bobNote: string;
  const sockets: GraphqlWsTestClient[] = [];

  const login = async () => {
    const email = `gql${++counter}-${platform}@example.com`;
    const http = request(app.getHttpServer());
    await http.post('/auth/register').set('Content-Type', 'application/json').send({ email, password: PASSWORD }).expect(201);
    return (await http.post('/auth/login').set('Content-Type', 'application/json').send({ email, password: PASSWORD }).expect(200)).body.accessToken as string;
  };
  const createNote = async (token: string, title: string) =>
    (await request(app.getHttpServer()).post('/notes').set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json').send({ title, body: `${title} body` }).expect(201)).body.id as string;
  const gql = async (token: string | undefined, query: string, variables?: Record<string, unknown>): Promise<GqlResponse> => {
    const call = request(app.getHttpServer()).post('/graphql').set('Content-Type', 'application/json');
    if (token) call.set('Authorization', `Bearer ${token}`);
    return (await call.send({ query, variables })).body as GqlResponse;
  };
  // Every note, read as the database's owner: the app's runtime role sees rows only through row-level security.
  const rows = () =>
    app.get(DataSource).transaction(async (manager) => {
      await manager.query('SET LOCAL ROLE NONE');
      return (await manager.query('SELECT id, owner_id, title, body, updated_at FROM notes ORDER BY id')) as Array<Record<string, unknown>>;
    });
  const codes = (body: GqlResponse) => (body.errors ?? []).map((error) => error.extensions?.code);

  beforeAll(async () => {
    app = await createSampleApp(platform, false);
    await app.listen(0, '127.0.0.1');
    alice = await login();
    bob = await login();
    aliceNote = await createNote(alice, 'alice plan');
    bobNote = await createNote(bob, 'bob secret');
  });
  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await app?.close();
  });

  it('refuses every query without a token', async () => {
    const body = await gql(undefined, '{ notes { id title } }');
    expect(body.data?.notes ?? null).toBeNull();
    expect(codes(body)).toEqual(['UNAUTHENTICATED']);
  });

  it("serves the caller's own notes under row-level security: list, by id, by node id, and an update that is committed", async () => {
    // The sample runs with rowLevelSecurity on: each field runs under the caller's signed identity.
    const list = await gql(alice, '{ notes { id title } }');
    expect(list.errors).toBeUndefined();
    expect(list.data?.notes).toEqual([{ id: aliceNote, title: 'alice plan' }]);
    const one = await gql(alice, 'query($id: ID!) { note(id: $id) { id title body } }', { id: aliceNote });
    expect(one).toEqual({ data: { note: { id: aliceNote, title: 'alice plan', body: 'alice plan body' } } });
    const node = await gql(alice, 'query($id: ID!) { node(id: $id) { id } }', { id: toNodeId(aliceNote) });
    expect(node.errors).toBeUndefined();
    const updated = await gql(alice, 'mutation($id: ID!) { updateNote(id: $id, input: { title: "alice plan 2" }) { id title } }', { id: aliceNote });
    expect(updated).toEqual({ data: { updateNote: { id: aliceNote, title: 'alice plan 2' } } });
    expect((await rows()).find((row) => row.id === aliceNote)).toMatchObject({ title: 'alice plan 2' });
  });

  it("lists only the caller's notes and answers another user's id as NOT_FOUND", async () => {
    expect(JSON.stringify(await gql(alice, '{ notes { id title } }'))).not.toContain(bobNote);
    const body = await gql(alice, 'query($id: ID!) { note(id: $id) { id title body } }', { id: bobNote });
    expect(body.data?.note ?? null).toBeNull();
    expect(codes(body)).toEqual(['NOT_FOUND']);
    expect(JSON.stringify(body)).not.toContain('bob secret');
  });

  it("checks each alias of a batch on its own: every alias of another user's note is NOT_FOUND", async () => {
    // A fresh attacker each time: the anomaly rules end a session that collects too many denials.
    const alice = await login();
    const aliases = Array.from({ length: 10 }, (_, i) => `b${i}: note(id: "${bobNote}") { title body }`);
    const body = await gql(alice, `{ ${aliases.join(' ')} }`);
    expect(codes(body)).toEqual(Array(10).fill('NOT_FOUND'));
    expect(body.errors?.map((error) => error.path?.[0])).toEqual(aliases.map((_, i) => `b${i}`));
    expect(JSON.stringify(body)).not.toContain('bob secret');
  });

  it("answers another user's Relay node id, and a forged or malformed one, as NOT_FOUND", async () => {
    // A fresh attacker each time: the anomaly rules end a session that collects too many denials.
    const alice = await login();
    for (const id of [toNodeId(bobNote), Buffer.from(`Note:${bobNote}:x`).toString('base64url'), Buffer.from(`User:${bobNote}`).toString('base64url'), 'not-base64!', bobNote]) {
      const body = await gql(alice, 'query($id: ID!) { node(id: $id) { id title } }', { id });
      expect(body.data?.node ?? null).toBeNull();
      expect(codes(body)).toEqual(['NOT_FOUND']);
    }
    const aliased = await gql(alice, `{ a: node(id: "${toNodeId(bobNote)}") { title } b: node(id: "${toNodeId(bobNote)}") { body } }`);
    expect(codes(aliased)).toEqual(['NOT_FOUND', 'NOT_FOUND']);
    expect(JSON.stringify(aliased)).not.toContain('bob secret');
  });

  it("changes no data when mutating another user's note, alone, in an aliased batch, or with an ownerId smuggled in", async () => {
    // A fresh attacker each time: the anomaly rules end a session that collects too many denials.
    const alice = await login();
    const before = await rows();
    const single = await gql(alice, 'mutation($id: ID!) { updateNote(id: $id, input: { title: "pwned" }) { id title } }', { id: bobNote });
    expect(codes(single)).toEqual(['NOT_FOUND']);
    const batch = await gql(alice, `mutation { ${Array.from({ length: 5 }, (_, i) => `m${i}: updateNote(id: "${bobNote}", input: { title: "pwned${i}" }) { id }`).join(' ')} }`);
    expect(codes(batch)).toEqual(Array(5).fill('NOT_FOUND'));
    const smuggled = await gql(alice, `mutation { updateNote(id: "${aliceNote}", input: { title: "mine", ownerId: "x" }) { id } }`);
    expect(smuggled.errors?.length).toBeGreaterThan(0);
    expect(smuggled.data?.updateNote ?? null).toBeNull();
    expect(before).toHaveLength(2);
    expect(await rows()).toEqual(before);

  });

  // Apollo on Express serves graphql-ws; the Fastify build keeps its gateway instead of Mercurius's
  // subscription server (see notes-graphql.module.ts; Mercurius subscriptions: graphql-subscriptions-mercurius.e2e).
  if (platform === 'express') it("sends a subscriber their own note changes and never another user's; ends the subscription at logout", async () => {
    const url = `ws://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}/graphql`;
    const carol = await login();
    const dave = await login();
    const carolNote = await createNote(carol, 'carol note');
    const daveNote = await createNote(dave, 'dave diary');
    const refused = connectGraphqlWs(url, { origin: ORIGIN });
    const foreign = connectGraphqlWs(url, { authorization: `Bearer ${carol}`, origin: 'https://evil.example' });
    const carolLive = connectGraphqlWs(url, { authorization: `Bearer ${carol}`, origin: ORIGIN });
    const daveLive = connectGraphqlWs(url, { authorization: `Bearer ${dave}`, origin: ORIGIN });
    sockets.push(refused, foreign, carolLive, daveLive);
    expect(await refused.acknowledged).toBe(false);
    expect(await foreign.acknowledged).toBe(false);
    expect(await carolLive.acknowledged).toBe(true);
    expect(await daveLive.acknowledged).toBe(true);
    carolLive.subscribe('c', 'subscription { noteChanged { type id title } }');
    daveLive.subscribe('d', 'subscription { noteChanged { type id title } }');
    await new Promise((resolve) => setTimeout(resolve, 200));

    // Dave writes twice, Carol once (over REST: its writes publish the same changes).
    const patch = (token: string, id: string, title: string) =>
      request(app.getHttpServer()).patch(`/notes/${id}`).set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json').send({ title }).expect(200);
    await patch(dave, daveNote, 'dave private');
    await patch(dave, daveNote, 'dave private 2');
    await patch(carol, carolNote, 'carol renamed');

    expect((await carolLive.nextOf('c'))?.payload).toEqual({ data: { noteChanged: { type: 'updated', id: carolNote, title: 'carol renamed' } } });
    expect(await carolLive.nextOf('c', 300)).toBeUndefined();
    expect(JSON.stringify(carolLive.messages)).not.toContain('dave');
    expect((await daveLive.nextOf('d'))?.payload?.data?.noteChanged?.title).toBe('dave private');
    expect((await daveLive.nextOf('d'))?.payload?.data?.noteChanged?.title).toBe('dave private 2');
    expect(JSON.stringify(daveLive.messages)).not.toContain('carol');

    await request(app.getHttpServer()).post('/auth/logout').set('Authorization', `Bearer ${carol}`).expect((response) => expect(response.status).toBeLessThan(300));
    expect(await closedWithin(carolLive, 10_000)).toBe(4401);
    expect(daveLive.isOpen()).toBe(true);
  }, 30_000);
});

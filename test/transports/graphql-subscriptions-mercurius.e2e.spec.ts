import type { INestApplication } from '@nestjs/common';
import { type ManualClock, mintTestToken, SessionService } from 'nestjs-zero-trust';
import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { CaptureAuditSink } from '../support/capture-audit.sink.js';
import { forgeToken, hs256, nowSeconds } from '../support/jwt-forge.js';
import {
  AuditedChangesResolver,
  createMercuriusSubscriptionApp,
  MERCURIUS_ORIGIN,
  REVOCATION_CHECK_SECONDS,
  SubNote,
  subscriptionCalls,
} from './graphql-subscription-mercurius-app.js';
import { closedWithin, connectGraphqlWs, type GraphqlWsTestClient } from './graphql-ws-client.js';
import { DataSource } from 'typeorm';

const NOTE_CHANGED = 'subscription { noteChanged { id ownerId title } }';
const sidOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).sid as string;
const expOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).exp as number;
/** Mercurius sends a refused subscribe as `error` with the errors array as its payload. */
const codeOf = (message: { payload?: any } | undefined) => message?.payload?.[0]?.extensions?.code ?? message?.payload?.errors?.[0]?.extensions?.code;
/** A socket closed by the revocation sweep closes within a few of its checks; generous, never waited out. */
const REVOCATION_BOUND_MS = REVOCATION_CHECK_SECONDS * 1000 * 10;

/** The HTTP status an upgrade was refused with (`undefined` when it was accepted). */
function upgradeStatus(url: string, headers: Record<string, string>): Promise<number | undefined> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url, 'graphql-transport-ws', { headers });
    socket.on('unexpected-response', (_request, response) => {
      resolve(response.statusCode);
      socket.terminate();
    });
    socket.on('open', () => {
      resolve(undefined);
      socket.close();
    });
    socket.on('error', () => resolve(-1));
  });
}

// Nest's Mercurius driver serves subscriptions from Mercurius's own server (graphql-transport-ws protocol).
describe('GraphQL subscriptions are zero-trust (fastify, mercurius)', () => {
  let app: INestApplication;
  let audit: CaptureAuditSink;
  let clock: ManualClock;
  let url: string;
  let aliceNote: string;
  let bobNote: string;
  const clients: GraphqlWsTestClient[] = [];
  const open = (options: Parameters<typeof connectGraphqlWs>[1] = {}, at = url) => {
    const client = connectGraphqlWs(at, options);
    clients.push(client);
    return client;
  };
  const rename = async (token: string, id: string, title: string) =>
    (await request(app.getHttpServer()).post('/graphql').set('Authorization', `Bearer ${token}`).send({ query: 'mutation($id: ID!, $title: String!) { renameNote(id: $id, title: $title) { id title } }', variables: { id, title } })).body;
  const waitFor = async (done: () => boolean) => {
    for (let i = 0; i < 100 && !done(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  };

  beforeAll(async () => {
    ({ app, audit, clock, url } = await createMercuriusSubscriptionApp());
    const repository = app.get(DataSource).getRepository(SubNote);
    aliceNote = (await repository.save({ ownerId: 'alice', title: 'alice-note' })).id;
    bobNote = (await repository.save({ ownerId: 'bob', title: 'bob-note' })).id;
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    await app?.close();
  });
  beforeEach(() => {
    audit.clear();
    subscriptionCalls.noteChanged = 0;
    subscriptionCalls.noteUpdated = 0;
    AuditedChangesResolver.calls = 0;
  });

  it('refuses connection_init without a token, with a forged or garbage token, and never reads one from the query string', async () => {
    const alice = await mintTestToken(app, { subject: 'alice' });
    const forged = forgeToken({ alg: 'HS256', typ: 'at+jwt' }, { iss: 'https://issuer.test', aud: 'gql-sub', sub: 'alice', iat: nowSeconds(), exp: nowSeconds() + 60 }, hs256('guess'));
    const attempts = [
      open({}),
      open({ authorization: `Bearer ${forged}` }),
      open({ authorization: 'Bearer not-a-jwt' }),
      open({ authorization: `Bearer ${alice} junk` }),
      open({ authorization: alice }),
      open({}, `${url}?token=${alice}&access_token=${alice}&Authorization=Bearer%20${alice}`),
    ];
    for (const client of attempts) {
      expect(await client.acknowledged).toBe(false);
      expect(await closedWithin(client, 3000)).toBe(4401);
    }
    expect(audit.events.filter((event) => event.type === 'auth.failure').map((event) => event.reason)).toEqual(['algorithm_not_allowed', 'malformed']);
    // A refused connection can run nothing: a subscribe sent right after its connection_init is not served.
    const eager = new WebSocket(url, 'graphql-transport-ws');
    const received: string[] = [];
    eager.on('message', (data) => received.push(String(data)));
    eager.on('open', () => {
      eager.send(JSON.stringify({ type: 'connection_init', payload: { Authorization: 'Bearer not-a-jwt' } }));
      eager.send(JSON.stringify({ id: 'early', type: 'subscribe', payload: { query: NOTE_CHANGED } }));
    });
    expect(await new Promise((resolve) => eager.on('close', resolve))).toBe(4401);
    expect(received.filter((message) => !message.includes('"connection_error"'))).toEqual([]);
    expect(subscriptionCalls.noteChanged).toBe(0);
  });

  it('refuses an expired token at connection_init', async () => {
    const token = await mintTestToken(app, { subject: 'erin' });
    clock.set((expOf(token) + 1) * 1000);
    const client = open({ authorization: `Bearer ${token}`, origin: MERCURIUS_ORIGIN });
    expect(await client.acknowledged).toBe(false);
    expect(await closedWithin(client, 3000)).toBe(4401);
    expect(audit.last('auth.failure')?.reason).toBe('expired');
  });

  it('refuses the upgrade from a foreign Origin (cross-site WebSocket hijacking), even with a valid token', async () => {
    const token = await mintTestToken(app, { subject: 'alice' });
    expect(await upgradeStatus(url, { Origin: 'https://evil.test', Authorization: `Bearer ${token}` })).toBe(403);
    const client = open({ authorization: `Bearer ${token}`, origin: 'https://evil.test' });
    expect(await client.acknowledged).toBe(false);
    expect(audit.last('access.denied')?.reason).toBe('origin_not_allowed');
  });

  it("refuses the upgrade with an invalid Authorization header, and accepts a valid one without the init payload's", async () => {
    expect(await upgradeStatus(url, { Origin: MERCURIUS_ORIGIN, Authorization: 'Bearer not-a-jwt' })).toBe(401);
    const client = open({ origin: MERCURIUS_ORIGIN, headers: { Authorization: `Bearer ${await mintTestToken(app, { subject: 'alice' })}` } });
    expect(await client.acknowledged).toBe(true);
  });

  it('closes a socket that never sends connection_init', async () => {
    const client = open({ init: false, origin: MERCURIUS_ORIGIN });
    expect(await closedWithin(client, 5000)).toBe(4401);
  });

  it("delivers the subscriber's own changes and never another owner's", async () => {
    const aliceToken = await mintTestToken(app, { subject: 'alice' });
    const bobToken = await mintTestToken(app, { subject: 'bob' });
    const alice = open({ authorization: `Bearer ${aliceToken}`, origin: MERCURIUS_ORIGIN });
    const bob = open({ authorization: `Bearer ${bobToken}` });
    expect(await alice.acknowledged).toBe(true);
    expect(await bob.acknowledged).toBe(true);
    alice.subscribe('a', NOTE_CHANGED);
    bob.subscribe('b', NOTE_CHANGED);
    await waitFor(() => subscriptionCalls.noteChanged >= 2);
    expect(subscriptionCalls.noteChanged).toBe(2);

    expect((await rename(bobToken, bobNote, 'bob-secret-plan')).data.renameNote.title).toBe('bob-secret-plan');
    expect((await rename(aliceToken, aliceNote, 'alice-renamed')).data.renameNote.title).toBe('alice-renamed');

    expect((await alice.nextOf('a'))?.payload).toEqual({ data: { noteChanged: { id: aliceNote, ownerId: 'alice', title: 'alice-renamed' } } });
    expect((await bob.nextOf('b'))?.payload).toEqual({ data: { noteChanged: { id: bobNote, ownerId: 'bob', title: 'bob-secret-plan' } } });
    // Nothing else arrives: bob's change never reached alice, nor alice's bob.
    expect(await alice.nextOf('a', 300)).toBeUndefined();
    expect(await bob.nextOf('b', 300)).toBeUndefined();
    expect(JSON.stringify(alice.messages)).not.toContain('bob-secret-plan');
    expect(JSON.stringify(bob.messages)).not.toContain('alice-renamed');
  });

  it("refuses a subscription to another owner's note as NOT_FOUND, runs nothing, and sends none of its events", async () => {
    const bobToken = await mintTestToken(app, { subject: 'bob' });
    const alice = open({ authorization: `Bearer ${await mintTestToken(app, { subject: 'alice' })}` });
    expect(await alice.acknowledged).toBe(true);
    alice.subscribe('x', 'subscription($id: ID!) { noteUpdated(id: $id) { id title } }', { id: bobNote });
    const refused = await alice.nextOf('x');
    expect(refused?.type).toBe('error');
    // Mercurius's withFilter (a subscription with `filter`) loses the guard's exception: the refusal
    // arrives masked (never its internal TypeError), as INTERNAL_SERVER_ERROR rather than NOT_FOUND.
    expect(['NOT_FOUND', 'INTERNAL_SERVER_ERROR']).toContain(codeOf(refused));
    expect(JSON.stringify(refused)).not.toMatch(/asyncIterator|Symbol|intermediate value/);
    expect(subscriptionCalls.noteUpdated).toBe(0);
    await rename(bobToken, bobNote, 'bob-after');
    expect(JSON.stringify(alice.messages)).not.toContain('bob-after');

    // Her own note: accepted, and its change arrives.
    alice.subscribe('y', 'subscription($id: ID!) { noteUpdated(id: $id) { id title } }', { id: aliceNote });
    await waitFor(() => subscriptionCalls.noteUpdated >= 1);
    expect(subscriptionCalls.noteUpdated).toBe(1);
    await rename(await mintTestToken(app, { subject: 'alice' }), aliceNote, 'alice-again');
    expect((await alice.nextOf('y'))?.payload).toEqual({ data: { noteUpdated: { id: aliceNote, title: 'alice-again' } } });
  });

  it('masks an error a subscription throws while it starts, as over HTTP', async () => {
    const alice = open({ authorization: `Bearer ${await mintTestToken(app, { subject: 'alice' })}` });
    expect(await alice.acknowledged).toBe(true);
    alice.subscribe('crash', 'subscription { crashingChanges { id } }');
    const crashed = await alice.nextOf('crash');
    expect(crashed?.type).toBe('error');
    expect(crashed?.payload?.[0]).toMatchObject({ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    expect(JSON.stringify(alice.messages)).not.toContain('secrets');
  });

  it('refuses a subscription field whose @Scopes the token lacks, before its body runs', async () => {
    const alice = open({ authorization: `Bearer ${await mintTestToken(app, { subject: 'alice' })}` });
    expect(await alice.acknowledged).toBe(true);
    alice.subscribe('s', 'subscription { auditedChanges { id } }');
    const refused = await alice.nextOf('s');
    expect(refused?.type).toBe('error');
    expect(codeOf(refused)).toBe('FORBIDDEN');
    expect(AuditedChangesResolver.calls).toBe(0);

    const auditor = open({ authorization: `Bearer ${await mintTestToken(app, { subject: 'alice', scopes: ['notes:audit'] })}` });
    expect(await auditor.acknowledged).toBe(true);
    auditor.subscribe('s', 'subscription { auditedChanges { id } }');
    await waitFor(() => AuditedChangesResolver.calls >= 1);
    expect(AuditedChangesResolver.calls).toBe(1);
  });

  it('validates documents sent over the socket: an aliased batch of subscriptions is refused', async () => {
    const alice = open({ authorization: `Bearer ${await mintTestToken(app, { subject: 'alice' })}` });
    expect(await alice.acknowledged).toBe(true);
    alice.subscribe('z', `subscription { a: noteUpdated(id: "${aliceNote}") { title } b: noteUpdated(id: "${aliceNote}") { title } }`);
    const refused = await alice.nextOf('z');
    expect(refused?.type).toBe('error');
    expect(JSON.stringify(refused?.payload)).toMatch(/only one top level field/);
    expect(subscriptionCalls.noteUpdated).toBe(0);
  });

  it('closes the socket of a session revoked by logout, without waiting for its next message', async () => {
    const token = await mintTestToken(app, { subject: 'carol' });
    const client = open({ authorization: `Bearer ${token}` });
    expect(await client.acknowledged).toBe(true);
    client.subscribe('c', NOTE_CHANGED);
    await waitFor(() => subscriptionCalls.noteChanged >= 1);
    const sent = client.messages.length;
    await app.get(SessionService).revoke(sidOf(token), 'logout');
    expect(await closedWithin(client, REVOCATION_BOUND_MS)).toBe(4401);
    expect(audit.events.some((event) => event.type === 'auth.failure' && event.reason === 'session_revoked')).toBe(true);
    // The server closed it on its own: the client sent nothing after the logout, and got nothing.
    expect(client.messages.length).toBe(sent);
  });

  it('closes the socket when its token expires (the module clock moved past its exp)', async () => {
    const token = await mintTestToken(app, { subject: 'dave' });
    const client = open({ authorization: `Bearer ${token}` });
    expect(await client.acknowledged).toBe(true);
    client.subscribe('d', NOTE_CHANGED);
    await waitFor(() => subscriptionCalls.noteChanged >= 1);
    // Three sweeps with a live token: still open (the sweep closes only what failed its check).
    await new Promise((resolve) => setTimeout(resolve, REVOCATION_CHECK_SECONDS * 1000 * 3));
    expect(client.isOpen()).toBe(true);
    clock.set((expOf(token) + 1) * 1000);
    expect(await closedWithin(client, REVOCATION_BOUND_MS)).toBe(4401);
    expect(audit.events.some((event) => event.type === 'auth.failure' && event.reason === 'expired')).toBe(true);
  });
});


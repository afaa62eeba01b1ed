import type { INestApplication } from '@nestjs/common';
import { Resolver, Subscription } from '@nestjs/graphql';
import { mintTestToken, SessionService } from 'nestjs-zero-trust';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CaptureAuditSink } from '../support/capture-audit.sink.js';
import { forgeToken, hs256, nowSeconds } from '../support/jwt-forge.js';
import { createSubscriptionApp, SubNote, SubscriptionNotesResolver, SUBSCRIPTION_ORIGIN, subscriptionCalls } from './graphql-subscription-app.js';
import { closedWithin, connectGraphqlWs, type GraphqlWsTestClient } from './graphql-ws-client.js';

const NOTE_CHANGED = 'subscription { noteChanged { id ownerId title } }';
const sidOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).sid as string;

// Apollo on Express serves graphql-ws (Nest's Mercurius driver has its own subscription server, not covered here).
describe('GraphQL subscriptions are zero-trust (express, apollo, graphql-ws)', () => {
  let app: INestApplication;
  let audit: CaptureAuditSink;
  let url: string;
  let aliceNote: string;
  let bobNote: string;
  const clients: GraphqlWsTestClient[] = [];
  const open = (options: Parameters<typeof connectGraphqlWs>[1] = {}, at = url) => {
    const client = connectGraphqlWs(at, options);
    clients.push(client);
    return client;
  };
  const rows = async () => (await app.get(DataSource).getRepository(SubNote).find({ order: { title: 'ASC' } })).map(({ id, ownerId, title }) => ({ id, ownerId, title }));
  const rename = async (token: string, id: string, title: string) =>
    (await request(app.getHttpServer()).post('/graphql').set('Authorization', `Bearer ${token}`).send({ query: 'mutation($id: ID!, $title: String!) { renameNote(id: $id, title: $title) { id title } }', variables: { id, title } })).body;

  beforeAll(async () => {
    ({ app, audit, url } = await createSubscriptionApp());
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
      open({}, `${url}?token=${alice}&access_token=${alice}`),
    ];
    for (const client of attempts) {
      expect(await client.acknowledged).toBe(false);
      expect(await closedWithin(client, 3000)).toBeGreaterThanOrEqual(4400);
    }
    expect(audit.events.filter((event) => event.type === 'auth.failure').map((event) => event.reason)).toEqual(['algorithm_not_allowed', 'malformed']);
  });

  it('refuses a connection from a foreign Origin (cross-site WebSocket hijacking), even with a valid token', async () => {
    const client = open({ authorization: `Bearer ${await mintTestToken(app, { subject: 'alice' })}`, origin: 'https://evil.test' });
    expect(await client.acknowledged).toBe(false);
    expect(audit.last('access.denied')?.reason).toBe('origin_not_allowed');
  });

  it('closes a socket that never sends connection_init', async () => {
    const client = open({ init: false, origin: SUBSCRIPTION_ORIGIN });
    expect(await closedWithin(client, 5000)).toBe(4408);
  });

  it("delivers the subscriber's own changes and never another owner's", async () => {
    const aliceToken = await mintTestToken(app, { subject: 'alice' });
    const bobToken = await mintTestToken(app, { subject: 'bob' });
    const alice = open({ authorization: `Bearer ${aliceToken}`, origin: SUBSCRIPTION_ORIGIN });
    const bob = open({ authorization: `Bearer ${bobToken}` });
    expect(await alice.acknowledged).toBe(true);
    expect(await bob.acknowledged).toBe(true);
    alice.subscribe('a', NOTE_CHANGED);
    bob.subscribe('b', NOTE_CHANGED);
    for (let i = 0; i < 50 && subscriptionCalls.noteChanged < 2; i++) await new Promise((resolve) => setTimeout(resolve, 20));
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
    expect(refused?.payload?.errors?.[0]?.extensions?.code ?? refused?.payload?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(subscriptionCalls.noteUpdated).toBe(0);
    await rename(bobToken, bobNote, 'bob-after');
    expect(JSON.stringify(alice.messages)).not.toContain('bob-after');

    // Her own note: accepted, and its change arrives.
    alice.subscribe('y', 'subscription($id: ID!) { noteUpdated(id: $id) { id title } }', { id: aliceNote });
    for (let i = 0; i < 50 && subscriptionCalls.noteUpdated < 1; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(subscriptionCalls.noteUpdated).toBe(1);
    await rename(await mintTestToken(app, { subject: 'alice' }), aliceNote, 'alice-again');
    expect((await alice.nextOf('y'))?.payload).toEqual({ data: { noteUpdated: { id: aliceNote, title: 'alice-again' } } });
  });

  it('refuses an aliased batch of subscriptions (one root field per subscription operation)', async () => {
    const alice = open({ authorization: `Bearer ${await mintTestToken(app, { subject: 'alice' })}` });
    expect(await alice.acknowledged).toBe(true);
    alice.subscribe('z', `subscription { a: noteUpdated(id: "${bobNote}") { title } b: noteUpdated(id: "${aliceNote}") { title } }`);
    const refused = await alice.nextOf('z');
    expect(refused?.type).toBe('error');
    expect(subscriptionCalls.noteUpdated).toBe(0);
  });

  it("changes no data when a mutation on another owner's note is sent over the socket", async () => {
    const before = await rows();
    const alice = open({ authorization: `Bearer ${await mintTestToken(app, { subject: 'alice' })}` });
    expect(await alice.acknowledged).toBe(true);
    alice.subscribe('m', `mutation { renameNote(id: "${bobNote}", title: "pwned") { id title } }`);
    const refused = await alice.nextOf('m');
    expect(refused?.payload?.errors?.[0]?.extensions?.code ?? refused?.payload?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(await rows()).toEqual(before);
    expect(JSON.stringify(alice.messages)).not.toContain('bob-');
  });

  it('holds operations sent over the socket to the same limits and masked errors as over HTTP', async () => {
    const alice = open({ authorization: `Bearer ${await mintTestToken(app, { subject: 'alice' })}` });
    expect(await alice.acknowledged).toBe(true);
    // 16 aliases, one over the limit: refused before any resolver runs, as over HTTP.
    alice.subscribe('aliases', `{ ${Array.from({ length: 16 }, (_, i) => `a${i}: hello`).join(' ')} }`);
    const aliases = await alice.nextOf('aliases');
    expect(aliases?.type).toBe('error');
    expect(JSON.stringify(aliases?.payload)).toMatch(/alias/i);
    alice.subscribe('crash', '{ crash }');
    const crashed = await alice.nextOf('crash');
    expect(crashed?.payload?.errors?.[0]).toMatchObject({ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    expect(JSON.stringify(alice.messages)).not.toContain('secrets');
  });

  it('closes the subscription of a session revoked by logout, without waiting for its next event', async () => {
    const token = await mintTestToken(app, { subject: 'carol' });
    const client = open({ authorization: `Bearer ${token}` });
    expect(await client.acknowledged).toBe(true);
    client.subscribe('c', NOTE_CHANGED);
    await app.get(SessionService).revoke(sidOf(token), 'logout');
    // The revocation bound of this app: a check every second, plus the session cache's second.
    expect(await closedWithin(client, 6000)).toBe(4401);
    expect(audit.events.some((event) => event.type === 'auth.failure' && event.reason === 'session_revoked')).toBe(true);
  });

  it('closes the subscription when its token expires', async () => {
    const client = open({ authorization: `Bearer ${await mintTestToken(app, { subject: 'dave' })}` });
    expect(await client.acknowledged).toBe(true);
    client.subscribe('d', NOTE_CHANGED);
    expect(await closedWithin(client, 12_000)).toBe(4401);
  }, 20_000);
});

describe('GraphQL subscriptions are deny-by-default', () => {
  @Resolver()
  class UnruledSubscriptionResolver {
    @Subscription(() => String)
    unruledTicks() {
      throw new Error('never subscribed');
    }
  }

  it('refuses to boot in strict mode and names the subscription without a rule', async () => {
    await expect(createSubscriptionApp([SubscriptionNotesResolver, UnruledSubscriptionResolver])).rejects.toThrow(/Subscription unruledTicks/);
  });
});

/**
 * Issue 17: with `rowLevelSecurity` on, every transport must run under the caller's signed database
 * identity. The table here has the owner policy forced by LeastPrivilegeRoleMigration and the app
 * connects as the runtime role, so a query outside a transaction carrying the identity sees no row at
 * all (an owner's own note answers "not found", owned lists come back empty, writes touch nothing), and
 * one carrying the wrong identity would see the wrong rows. Each GraphQL field, WebSocket message and
 * NATS message must run its ownership lookup and its handler under its own caller, in a transaction that
 * always ends, also when a guard after the module's refuses the call.
 *
 * Real PostgreSQL (a database of the test's own), Apollo on Express and Mercurius on Fastify, `ws`, NATS.
 */
import type { INestApplication, INestApplicationContext, INestMicroservice } from '@nestjs/common';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ServiceTokens, TokenService, ZeroTrustModule } from 'nestjs-zero-trust';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { firstValueFrom } from 'rxjs';
import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { NatsClient } from '../../sample/src/worker/nats.transport.js';
import { requirePostgresUrl } from '../support/services.js';
import { PLATFORMS } from '../support/test-app.js';
import { createRlsDatabase, createRlsGraphqlApp, createRlsPGliteDatabase, createRlsWebSocketApp, createRlsWorker, type RlsDatabase, rlsAudit, rlsCalls, WS_ORIGIN } from './rls-transports-app.js';
import { requireNatsUrl } from './transport-services.js';

const pgUrl = requirePostgresUrl();
const natsUrl = requireNatsUrl();

type GqlResponse = { data?: Record<string, unknown> | null; errors?: Array<{ message: string; path?: string[]; extensions?: Record<string, unknown> }> };

/** Ten notes for each of two owners, with ids and titles of the test's own. */
function notesOf(owner: string, prefix: string) {
  return Array.from({ length: 10 }, (_, i) => ({ id: randomUUID(), ownerId: owner, title: `${prefix}-${String(i).padStart(2, '0')}` }));
}

const ENGINES = [
  ['PostgreSQL', () => createRlsDatabase(pgUrl!)],
  ['PGlite', createRlsPGliteDatabase],
] as const;
const GRAPHQL_COMBOS = ENGINES.flatMap(([engine, create]) => PLATFORMS.map((platform) => [platform, engine, create] as const));

describe.each(GRAPHQL_COMBOS)("GraphQL fields run under the caller's row-level-security identity (%s, %s)", (platform, _engine, create) => {
  let database: RlsDatabase;
  let app: INestApplication;
  let alice: string;
  let bob: string;
  const aliceNotes = notesOf('alice', 'a');
  const bobNotes = notesOf('bob', 'b');

  const gql = async (query: string, token: string, variables?: Record<string, unknown>): Promise<GqlResponse> => {
    const response = await request(app.getHttpServer()).post('/graphql').set('Content-Type', 'application/json').set('Authorization', `Bearer ${token}`).send({ query, variables });
    return response.body as GqlResponse;
  };
  const stored = async (id: string) => (await database.ownerView()).find((row) => row.id === id);

  beforeAll(async () => {
    database = await create();
    await database.seed([...aliceNotes, ...bobNotes]);
    app = await createRlsGraphqlApp(platform, database);
    alice = app.get(TokenService).issueAccessToken({ subject: 'alice' }).accessToken;
    bob = app.get(TokenService).issueAccessToken({ subject: 'bob' }).accessToken;
  });
  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });
  beforeEach(() => {
    rlsCalls.guarded = 0;
    rlsAudit.clear();
  });

  it("reads the caller's own note by id (the ownership lookup runs under the caller's identity)", async () => {
    const body = await gql(`{ note(id: "${aliceNotes[0].id}") { id ownerId title } }`, alice);
    expect(body.errors).toBeUndefined();
    expect(body.data?.note).toEqual(aliceNotes[0]);
  });

  it("answers not found for another owner's note id, and leaves the database unchanged", async () => {
    const before = await database.ownerView();
    const body = await gql(`{ note(id: "${bobNotes[0].id}") { id ownerId title } }`, alice);
    expect(body.data?.note ?? null).toBeNull();
    expect(body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(await database.ownerView()).toEqual(before);
  });

  it("lists only the caller's rows, through OwnedRepository and through a query that forgets the owner", async () => {
    const titles = aliceNotes.map((note) => note.title);
    const owned = await gql('{ notes { title } }', alice);
    expect(owned.errors).toBeUndefined();
    expect((owned.data?.notes as Array<{ title: string }>).map((note) => note.title)).toEqual(titles);
    const careless = await gql('{ allTitles }', alice);
    expect(careless.errors).toBeUndefined();
    expect(careless.data?.allTitles).toEqual(titles);
  });

  it('keeps concurrent requests of two users apart, each field under its own caller', async () => {
    const query = `{ ${Array.from({ length: 5 }, (_, i) => `t${i}: allTitles l${i}: notes { ownerId }`).join(' ')} }`;
    const bodies = await Promise.all(Array.from({ length: 6 }, (_, i) => gql(query, i % 2 ? bob : alice)));
    bodies.forEach((body, i) => {
      const [owner, notes] = i % 2 ? ['bob', bobNotes] : ['alice', aliceNotes];
      expect(body.errors).toBeUndefined();
      for (let field = 0; field < 5; field++) {
        expect(body.data?.[`t${field}`]).toEqual(notes.map((note) => note.title));
        expect(body.data?.[`l${field}`]).toEqual(notes.map(() => ({ ownerId: owner })));
      }
    });
  });

  it("refuses a mutation renaming another owner's note: the owner sees the row unchanged", async () => {
    const body = await gql(`mutation { renameNote(id: "${bobNotes[1].id}", title: "stolen") { title } }`, alice);
    expect(body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(await stored(bobNotes[1].id)).toEqual(bobNotes[1]);
  });

  it("commits a mutation of the caller's own note, and a write that forgets the owner touches no other row", async () => {
    const renamed = await gql(`mutation { renameNote(id: "${aliceNotes[1].id}", title: "a-01") { title } }`, alice);
    expect(renamed.errors).toBeUndefined();
    expect(renamed.data?.renameNote).toEqual({ title: 'a-01' });
    // Answered means committed: the owner reads it at once.
    expect(await stored(aliceNotes[1].id)).toEqual(aliceNotes[1]);
    const careless = await gql(`mutation { theirs: retitleAny(id: "${bobNotes[2].id}", title: "stolen") mine: retitleAny(id: "${aliceNotes[2].id}", title: "a-02") }`, alice);
    expect(careless.errors).toBeUndefined();
    expect(careless.data).toEqual({ theirs: 0, mine: 1 });
    expect(await stored(bobNotes[2].id)).toEqual(bobNotes[2]);
  });

  it('rolls back the write of a mutation that fails after writing, and leaves no transaction open', async () => {
    const body = await gql(`mutation { retitleThenFail(id: "${aliceNotes[3].id}", title: "half-done") }`, alice);
    expect(body.errors).toHaveLength(1);
    expect(await stored(aliceNotes[3].id)).toEqual(aliceNotes[3]);
    expect(await database.idleInTransaction()).toBe(0);
  });

  it("checks each of 100 aliased note(id:) fields on its own: the caller's notes come back, every other one is an error", async () => {
    const ids = Array.from({ length: 100 }, (_, i) => (i % 2 ? bobNotes : aliceNotes)[Math.floor(i / 2) % 10]);
    const query = `{ ${ids.map((note, i) => `n${i}: note(id: "${note.id}") { id ownerId title }`).join(' ')} }`;
    const body = await gql(query, alice);
    ids.forEach((note, i) => {
      if (note.ownerId === 'alice') expect(body.data?.[`n${i}`]).toEqual(note);
      else expect(body.data?.[`n${i}`] ?? null).toBeNull();
    });
    const refused = (body.errors ?? []).map((error) => error.path?.[0]).sort();
    expect(refused).toEqual(ids.flatMap((note, i) => (note.ownerId === 'bob' ? [`n${i}`] : [])).sort());
    expect(body.errors?.every((error) => error.extensions?.code === 'NOT_FOUND')).toBe(true);
    expect(await database.idleInTransaction()).toBe(0);
  });

  it('leaves no transaction open when a guard after the module\'s refuses, and the pool keeps serving', async () => {
    // More refusals than the pool (4) has connections: a leak would starve the query that follows.
    for (let i = 0; i < 6; i++) {
      const body = await gql(`{ guardedNote(id: "${aliceNotes[4].id}") { title } }`, alice);
      expect(body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    }
    expect(rlsCalls.guarded).toBe(0);
    expect(await database.idleInTransaction()).toBe(0);
    expect((await gql(`{ note(id: "${aliceNotes[4].id}") { title } }`, alice)).data?.note).toEqual({ title: aliceNotes[4].title });
  });
});

/** A `ws` client that keeps every message and can wait for the reply to one. */
function socketClient(url: string, token: string) {
  const socket = new WebSocket(`ws://${url}/`, { headers: { Origin: WS_ORIGIN, Authorization: `Bearer ${token}` } });
  const received: Array<{ event: string; data: unknown }> = [];
  const waiters: Array<() => void> = [];
  socket.on('message', (raw) => {
    received.push(JSON.parse(String(raw)) as { event: string; data: unknown });
    for (const wake of waiters.splice(0)) wake();
  });
  const opened = new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  /** Sends one message and resolves with the first reply: the handler's event or the refusal (`exception`). */
  const call = async (event: string, data: unknown, reply: string) => {
    socket.send(JSON.stringify({ event, data }));
    for (;;) {
      const index = received.findIndex((message) => message.event === reply || message.event === 'exception');
      if (index >= 0) return received.splice(index, 1)[0];
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  return { opened, call, close: () => socket.close() };
}

describe("WebSocket messages run under the caller's row-level-security identity (express, ws)", () => {
  let database: RlsDatabase;
  let app: INestApplication;
  let client: ReturnType<typeof socketClient>;
  const aliceNotes = notesOf('alice', 'wa');
  const bobNotes = notesOf('bob', 'wb');
  const stored = async (id: string) => (await database.ownerView()).find((row) => row.id === id);

  beforeAll(async () => {
    database = await createRlsDatabase(pgUrl!);
    await database.seed([...aliceNotes, ...bobNotes]);
    let url: string;
    ({ app, url } = await createRlsWebSocketApp(database));
    client = socketClient(url, app.get(TokenService).issueAccessToken({ subject: 'alice' }).accessToken);
    await client.opened;
  });
  afterAll(async () => {
    client?.close();
    await app?.close();
    await database?.drop();
  });
  beforeEach(() => {
    rlsCalls.guarded = 0;
    rlsAudit.clear();
  });

  it("reads the caller's own note, and refuses another owner's as not found", async () => {
    expect(await client.call('note', { id: aliceNotes[0].id }, 'note')).toEqual({ event: 'note', data: aliceNotes[0].title });
    // A socket gets the generic error for every refusal; the audit tells why.
    expect((await client.call('note', { id: bobNotes[0].id }, 'note')).event).toBe('exception');
    expect(rlsAudit.last('access.denied')?.reason).toBe('not_found');
  });

  it("lists only the caller's rows, through OwnedRepository and through a query that forgets the owner", async () => {
    const titles = aliceNotes.map((note) => note.title);
    expect(await client.call('notes', {}, 'notes')).toEqual({ event: 'notes', data: titles });
    expect(await client.call('allTitles', {}, 'allTitles')).toEqual({ event: 'allTitles', data: titles });
  });

  it("renames the caller's own note and refuses another owner's: the owner sees B's row unchanged", async () => {
    expect(await client.call('rename', { id: aliceNotes[1].id, title: 'wa-01' }, 'renamed')).toEqual({ event: 'renamed', data: 'wa-01' });
    expect((await client.call('rename', { id: bobNotes[1].id, title: 'stolen' }, 'renamed')).event).toBe('exception');
    expect(rlsAudit.last('access.denied')?.reason).toBe('not_found');
    expect(await stored(bobNotes[1].id)).toEqual(bobNotes[1]);
  });

  it("leaves no transaction open when a guard after the module's refuses", async () => {
    for (let i = 0; i < 6; i++) expect((await client.call('guarded', { id: aliceNotes[2].id }, 'guarded')).event).toBe('exception');
    // The ownership check passed (it denied nothing): the guard after it refused.
    expect(rlsAudit.events.filter((event) => event.type === 'access.denied')).toEqual([]);
    expect(rlsCalls.guarded).toBe(0);
    expect(await database.idleInTransaction()).toBe(0);
    expect(await client.call('note', { id: aliceNotes[2].id }, 'note')).toEqual({ event: 'note', data: aliceNotes[2].title });
  });
});

describe.skipIf(!natsUrl)("NATS messages run under the calling service's row-level-security identity", () => {
  const subject = `zt-rls-${randomUUID().slice(0, 8)}`;
  const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  let database: RlsDatabase;
  let api: INestApplicationContext;
  let worker: INestMicroservice;
  let client: NatsClient;
  let tokens: ServiceTokens;
  // A service's owner id is its subject: `service:<name>`.
  const ownNotes = notesOf('service:notes-api', 'sa');
  const otherNotes = notesOf('service:billing', 'sb');
  const stored = async (id: string) => (await database.ownerView()).find((row) => row.id === id);
  const send = (pattern: string, data: unknown) =>
    firstValueFrom(tokens.client(client, { service: 'notes-api', audience: 'rls-worker', scopes: ['notes:index'] }).send(`${subject}.${pattern}`, data));

  beforeAll(async () => {
    database = await createRlsDatabase(pgUrl!);
    await database.seed([...ownNotes, ...otherNotes]);
    const privateKey = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    @Module({ imports: [ZeroTrustModule.forRoot({ issuer: 'https://issuer.test', audience: 'notes-api', keys: [{ kid: 'api-1', alg: 'ES256', privateKey }], auditSinks: [] })] })
    class ApiModule {}
    api = await NestFactory.createApplicationContext(ApiModule, { logger: false });
    tokens = api.get(ServiceTokens);
    worker = await createRlsWorker(database, natsUrl!, subject, keys.publicKey.export({ type: 'spki', format: 'pem' }) as string);
    client = new NatsClient({ servers: natsUrl!, timeout: 5000 });
    await client.connect();
  });
  afterAll(async () => {
    await client?.close();
    await worker?.close();
    await api?.close();
    await database?.drop();
  });
  beforeEach(() => {
    rlsCalls.guarded = 0;
    rlsAudit.clear();
  });

  it("reads the service's own note, and refuses another owner's as not found", async () => {
    await expect(send('note', { id: ownNotes[0].id })).resolves.toBe(ownNotes[0].title);
    await expect(send('note', { id: otherNotes[0].id })).rejects.toMatchObject({ statusCode: 404 });
  });

  it("lists only the service's rows, through OwnedRepository and through a query that forgets the owner", async () => {
    const titles = ownNotes.map((note) => note.title);
    await expect(send('notes', {})).resolves.toEqual(titles);
    await expect(send('allTitles', {})).resolves.toEqual(titles);
  });

  it("renames the service's own note and refuses another owner's: the owner sees that row unchanged", async () => {
    await expect(send('rename', { id: ownNotes[1].id, title: 'sa-01' })).resolves.toBe('sa-01');
    await expect(send('rename', { id: otherNotes[1].id, title: 'stolen' })).rejects.toMatchObject({ statusCode: 404 });
    expect(await stored(otherNotes[1].id)).toEqual(otherNotes[1]);
  });

  it("leaves no transaction open when a guard after the module's refuses", async () => {
    // Refused as Nest refuses a message whose guard says no (403), not as a failure of the server.
    for (let i = 0; i < 6; i++) await expect(send('guarded', { id: ownNotes[2].id })).rejects.toEqual({ statusCode: 403, message: 'Forbidden resource', error: 'Forbidden' });
    // The ownership check passed (it denied nothing): the guard after it refused.
    expect(rlsAudit.events.filter((event) => event.type === 'access.denied')).toEqual([]);
    expect(rlsCalls.guarded).toBe(0);
    expect(await database.idleInTransaction()).toBe(0);
    await expect(send('note', { id: ownNotes[2].id })).resolves.toBe(ownNotes[2].title);
  });
});

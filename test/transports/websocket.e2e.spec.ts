import type { INestApplication } from '@nestjs/common';
import { mintTestToken, SessionService, TokenService } from 'nestjs-zero-trust';
import { io, type Socket } from 'socket.io-client';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { CaptureAuditSink } from '../support/capture-audit.sink.js';
import { forgeToken, hs256, nowSeconds } from '../support/jwt-forge.js';
import type { SocketGuardian } from '../../lib/websockets/socket-guardian.js';
import { ALLOWED_ORIGIN, createWebSocketApp, WsNote, wsCalls } from './websocket-app.js';

type Library = 'ws' | 'socket.io';

/** One client API over both libraries: send an event, wait for one, see the socket close. */
interface TestClient {
  readonly opened: Promise<boolean>;
  readonly closed: Promise<void>;
  isOpen(): boolean;
  send(event: string, data: unknown): void;
  next(event: string, within?: number): Promise<unknown>;
  close(): void;
}

function connect(library: Library, url: string, options: { token?: string; origin?: string; query?: string; authToken?: string } = {}): TestClient {
  const headers: Record<string, string> = { Origin: options.origin ?? ALLOWED_ORIGIN };
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  const received: Array<{ event: string; data: unknown }> = [];
  const waiters: Array<() => void> = [];
  const push = (event: string, data: unknown) => {
    received.push({ event, data });
    for (const wake of waiters.splice(0)) wake();
  };
  let open = false;
  let onClosed!: () => void;
  const closed = new Promise<void>((resolve) => (onClosed = resolve));
  const next = async (event: string, within = 3000) => {
    const deadline = Date.now() + within;
    for (;;) {
      const index = received.findIndex((message) => message.event === event);
      if (index >= 0) return received.splice(index, 1)[0].data;
      if (Date.now() > deadline) return undefined;
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  };
  if (library === 'ws') {
    const socket = new WebSocket(`ws://${url}/${options.query ?? ''}`, { headers });
    const opened = new Promise<boolean>((resolve) => {
      socket.once('open', () => resolve((open = true)));
      socket.once('unexpected-response', () => resolve(false));
      socket.once('error', () => resolve(false));
    });
    socket.on('message', (raw) => {
      const message = JSON.parse(String(raw)) as { event: string; data: unknown };
      push(message.event, message.data);
    });
    socket.once('close', () => {
      open = false;
      onClosed();
    });
    return { opened, closed, isOpen: () => open, send: (event, data) => socket.send(JSON.stringify({ event, data })), next, close: () => socket.close() };
  }
  const socket: Socket = io(`http://${url}${options.query ?? ''}`, {
    transports: ['websocket'],
    extraHeaders: headers,
    reconnection: false,
    auth: options.authToken ? { token: options.authToken } : undefined,
  });
  const opened = new Promise<boolean>((resolve) => {
    socket.once('connect', () => resolve((open = true)));
    socket.once('connect_error', () => resolve(false));
  });
  socket.onAny((event: string, data: unknown) => push(event, data));
  socket.once('disconnect', () => {
    open = false;
    onClosed();
  });
  return { opened, closed, isOpen: () => open, send: (event, data) => socket.emit(event, data), next, close: () => socket.disconnect() };
}

/** Resolves true when the socket closed within `within` ms (the server's doing), false if still open. */
const closesWithin = (client: TestClient, within: number) => Promise.race([client.closed.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), within))]);

const COMBOS = [
  ['express', 'ws'],
  ['express', 'socket.io'],
  ['fastify', 'ws'],
  ['fastify', 'socket.io'],
] as const;

describe.each(COMBOS)('WebSockets are zero-trust (%s, %s)', (platform, library) => {
  let app: INestApplication;
  let audit: CaptureAuditSink;
  let guardian: SocketGuardian;
  let url: string;
  let aliceNote: string;
  let bobNote: string;
  const clients: TestClient[] = [];
  const open = (options: Parameters<typeof connect>[2] = {}) => {
    const client = connect(library, url, options);
    clients.push(client);
    return client;
  };
  const titles = async () => (await app.get(DataSource).getRepository(WsNote).find({ order: { title: 'ASC' } })).map((note) => note.title);

  beforeAll(async () => {
    ({ app, audit, guardian, url } = await createWebSocketApp(platform, library));
    const repository = app.get(DataSource).getRepository(WsNote);
    aliceNote = (await repository.save({ ownerId: 'alice', title: 'alice-note' })).id;
    bobNote = (await repository.save({ ownerId: 'bob', title: 'bob-note' })).id;
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    await app?.close();
  });
  beforeEach(() => {
    audit.clear();
    wsCalls.rename = 0;
  });

  it('refuses a handshake from a foreign Origin (cross-site WebSocket hijacking)', async () => {
    const token = await mintTestToken(app, { subject: 'alice' });
    expect(await open({ token, origin: 'https://evil.example' }).opened).toBe(false);
    expect(audit.last('access.denied')?.reason).toBe('origin_not_allowed');
  });

  it('refuses a handshake with a forged or expired token', async () => {
    const forged = forgeToken({ alg: 'HS256', typ: 'at+jwt' }, { iss: 'https://issuer.test', aud: 'ws', sub: 'alice', iat: nowSeconds(), exp: nowSeconds() + 60 }, hs256('guess'));
    expect(await open({ token: forged }).opened).toBe(false);
    expect(audit.last('auth.failure')?.reason).toBe('algorithm_not_allowed');
  });

  it('refuses a DPoP-bound token, which no socket message can prove possession of (handshake and first message)', async () => {
    const sessions = app.get(SessionService);
    const { sessionId } = await sessions.create('alice', { scopes: [], authMethods: ['pwd'] });
    const bound = app.get(TokenService).issueAccessToken({ subject: 'alice', sessionId, dpop: { jkt: 'A'.repeat(43) } }).accessToken;
    expect(await open({ token: bound }).opened).toBe(false);
    expect(audit.last('auth.failure')?.reason).toBe('dpop_bound_token_as_bearer');
    audit.clear();
    const client = open();
    await client.opened;
    client.send('authenticate', { token: bound });
    client.send('whoami', {});
    expect(await client.next('whoami', 1000)).toBeUndefined();
    expect(audit.last('auth.failure')?.reason).toBe('dpop_bound_token_as_bearer');
  });

  it('answers an authenticated socket, and only with its own principal', async () => {
    const client = open({ token: await mintTestToken(app, { subject: 'alice' }) });
    expect(await client.opened).toBe(true);
    client.send('whoami', {});
    expect(await client.next('whoami')).toBe('alice');
  });

  it('serves no handler to a socket without a token, never reads one from the query string, and closes it when it does not authenticate', async () => {
    const token = await mintTestToken(app, { subject: 'alice' });
    const client = open({ query: library === 'ws' ? `?token=${token}&access_token=${token}` : `?token=${token}` });
    expect(await client.opened).toBe(true);
    client.send('ping', {});
    expect(await client.next('pong')).toBe(true);
    client.send('whoami', {});
    expect(await client.next('whoami', 500)).toBeUndefined();
    expect(await closesWithin(client, 5000)).toBe(true);
  });

  it('authenticates with the first message, and re-authenticates on the open socket', async () => {
    const client = open();
    expect(await client.opened).toBe(true);
    client.send('authenticate', { token: await mintTestToken(app, { subject: 'alice' }) });
    expect(await client.next('authenticated')).toEqual({ ok: true });
    client.send('whoami', {});
    expect(await client.next('whoami')).toBe('alice');
    client.send('authenticate', { token: await mintTestToken(app, { subject: 'alice' }) });
    expect(await client.next('authenticated')).toEqual({ ok: true });
  });

  it("closes a socket that re-authenticates as someone else", async () => {
    const client = open({ token: await mintTestToken(app, { subject: 'alice' }) });
    expect(await client.opened).toBe(true);
    client.send('authenticate', { token: await mintTestToken(app, { subject: 'bob' }) });
    expect(await closesWithin(client, 3000)).toBe(true);
  });

  it("refuses another user's record and changes no row", async () => {
    const client = open({ token: await mintTestToken(app, { subject: 'alice' }) });
    expect(await client.opened).toBe(true);
    const before = await titles();
    client.send('rename', { id: bobNote, title: 'pwned' });
    expect(await client.next('renamed', 800)).toBeUndefined();
    expect(wsCalls.rename).toBe(0);
    expect(await titles()).toEqual(before);
    expect(audit.last('access.denied')?.reason).toBe('not_owner');
    client.send('rename', { id: aliceNote, title: 'alice-renamed' });
    expect(await client.next('renamed')).toBe('alice-renamed');
  });

  it('validates payloads with the same pipe: an extra field or an over-deep payload runs nothing', async () => {
    const client = open({ token: await mintTestToken(app, { subject: 'alice' }) });
    expect(await client.opened).toBe(true);
    const before = await titles();
    client.send('rename', { id: aliceNote, title: 'x', ownerId: 'bob' });
    let deep: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 40; i++) deep = { deep };
    client.send('rename', { id: aliceNote, title: 'y', deep });
    expect(await client.next('renamed', 800)).toBeUndefined();
    expect(await titles()).toEqual(before);
  });

  it('closes the socket of a session revoked by logout, without waiting for its next message', async () => {
    const token = await mintTestToken(app, { subject: 'carol' });
    const client = open({ token });
    expect(await client.opened).toBe(true);
    const sid = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).sid as string;
    await app.get(SessionService).revoke(sid, 'logout');
    // The revocation bound of this app: a check every second, plus the session cache's second.
    expect(await closesWithin(client, 6000)).toBe(true);
    expect(audit.events.some((event) => event.type === 'auth.failure' && event.reason === 'session_revoked')).toBe(true);
  });

  it('closes the socket when its token expires', async () => {
    const client = open({ token: await mintTestToken(app, { subject: 'dave' }) });
    expect(await client.opened).toBe(true);
    expect(await closesWithin(client, 12_000)).toBe(true);
  }, 20_000);

  it('closes a socket that floods messages past its limit', async () => {
    const client = open({ token: await mintTestToken(app, { subject: 'erin' }) });
    expect(await client.opened).toBe(true);
    for (let i = 0; i < 25; i++) client.send('ping', {});
    expect(await closesWithin(client, 3000)).toBe(true);
    expect(audit.last('rate_limit.exceeded')?.reason).toBe('socket_messages');
  });

  it('refuses a message larger than the limit', async () => {
    const client = open({ token: await mintTestToken(app, { subject: 'frank' }) });
    expect(await client.opened).toBe(true);
    client.send('rename', { id: aliceNote, title: 'x'.repeat(5000) });
    expect(await closesWithin(client, 3000)).toBe(true);
    expect(wsCalls.rename).toBe(0);
  });

  it('forgets closed sockets', async () => {
    for (const client of clients) client.close();
    for (let i = 0; i < 50 && guardian.size > 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(guardian.size).toBe(0);
  });
});

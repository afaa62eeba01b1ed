import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { AppModule } from '../src/app.module.js';
import { useZeroTrustWebSockets } from '../src/websockets/websockets.setup.js';

// A throwaway embedded database for this run (see .env.example).
process.env.PGLITE_DATA_DIR = 'memory://';
const PASSWORD = 'correct horse battery';
const json = { 'Content-Type': 'application/json' };

interface Message {
  event: string;
  data: unknown;
}

interface Client {
  opened: Promise<boolean>;
  /**
   * Sends `{ event, data }` and resolves with what came back for it: the answer under the same event, or
   * the gateway's `exception` naming it (a refusal: its message is generic, whatever the reason).
   */
  ask(event: string, data: unknown): Promise<Message>;
  close(): void;
}

const refused = (event: string) => ({ event: 'exception', data: expect.objectContaining({ status: 'error', cause: expect.objectContaining({ pattern: event }) }) });

describe('WebSocket /<%= route %>: owner-only (OWASP API1/API3)', () => {
  let app: INestApplication;
  let url: string;
  let a: string;
  let b: string;
  const clients: Client[] = [];

  function connect(token?: string): Client {
    const socket = new WebSocket(url, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
    const answers: Message[] = [];
    socket.on('message', (raw) => answers.push(JSON.parse(String(raw)) as Message));
    const answersTo = (event: string) => (answer: Message) =>
      answer.event === event || (answer.event === 'exception' && (answer.data as { cause?: { pattern?: string } } | undefined)?.cause?.pattern === event);
    const opened = new Promise<boolean>((resolve) => {
      socket.once('open', () => resolve(true));
      socket.once('unexpected-response', () => resolve(false));
      socket.once('error', () => resolve(false));
    });
    const client: Client = {
      opened,
      async ask(event, data) {
        socket.send(JSON.stringify({ event, data }));
        for (;;) {
          const index = answers.findIndex(answersTo(event));
          if (index >= 0) return answers.splice(index, 1)[0];
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      },
      close: () => socket.close(),
    };
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await useZeroTrustWebSockets(app);
    await app.listen(0, '127.0.0.1');
    const http = request(app.getHttpServer());
    url = `ws://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}/<%= route %>`;
    const tokens: string[] = [];
    for (const email of ['<%= file %>-ws-a@example.com', '<%= file %>-ws-b@example.com']) {
      await http.post('/auth/register').set(json).send({ email, password: PASSWORD }).expect(201);
      tokens.push((await http.post('/auth/login').set(json).send({ email, password: PASSWORD }).expect(200)).body.accessToken);
    }
    [a, b] = tokens;
  });
  afterAll(async () => {
    for (const client of clients) client.close();
    await app?.close();
  });

  it('needs a token: a forged one is refused at the handshake, none at all is refused every message', async () => {
    expect(await connect('not.a.token').opened).toBe(false);
    const anonymous = connect();
    expect(await anonymous.opened).toBe(true);
    expect(await anonymous.ask('<%= route %>:create', { title: 'anonymous' })).toEqual(refused('<%= route %>:create'));
    expect(await anonymous.ask('<%= route %>:list', {})).toEqual(refused('<%= route %>:list'));
  });

  it("keeps A's <%= file %> away from B on every message, and unchanged", async () => {
    const alice = connect(a);
    const bob = connect(b);
    expect(await alice.opened).toBe(true);
    expect(await bob.opened).toBe(true);
    const row = (await alice.ask('<%= route %>:create', { title: 'mine' })).data as { id: string; title: string };
    expect(row.title).toBe('mine');
    // Refused like an id that does not exist: the same generic error, nothing read or changed.
    expect(await bob.ask('<%= route %>:get', { id: row.id })).toEqual(refused('<%= route %>:get'));
    expect(await bob.ask('<%= route %>:get', { id: randomUUID() })).toEqual(refused('<%= route %>:get'));
    expect(await bob.ask('<%= route %>:update', { id: row.id, title: 'pwned' })).toEqual(refused('<%= route %>:update'));
    expect(await bob.ask('<%= route %>:delete', { id: row.id })).toEqual(refused('<%= route %>:delete'));
    expect(await bob.ask('<%= route %>:list', {})).toEqual({ event: '<%= route %>:list', data: [] });
    expect(((await alice.ask('<%= route %>:get', { id: row.id })).data as { title: string }).title).toBe('mine');
  });

  it('refuses owner and id fields in payloads, and malformed ids', async () => {
    const alice = connect(a);
    expect(await alice.opened).toBe(true);
    expect(await alice.ask('<%= route %>:create', { title: 'x', ownerId: randomUUID() })).toEqual(refused('<%= route %>:create'));
    expect(await alice.ask('<%= route %>:create', { title: 'x', id: randomUUID() })).toEqual(refused('<%= route %>:create'));
    expect(await alice.ask('<%= route %>:list', { ownerId: randomUUID() })).toEqual(refused('<%= route %>:list'));
    expect(await alice.ask('<%= route %>:get', { id: 'not-a-uuid' })).toEqual(refused('<%= route %>:get'));
    // None of the refused messages stored a row.
    expect(((await alice.ask('<%= route %>:list', {})).data as Array<{ title: string }>).map((row) => row.title)).toEqual(['mine']);
  });
});

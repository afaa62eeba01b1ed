import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createSampleApp } from '../../sample/src/app.factory.js';
import { PLATFORMS } from '../support/test-app.js';

process.env.ZT_DB = 'memory';
process.env.ZT_AUTH_RATE_LIMIT = '10000';
const PASSWORD = 'correct horse battery';
const ORIGIN = 'http://localhost:3000';

type Received = { event: string; data: Record<string, unknown> };

describe.each(PLATFORMS)('sample: the notes gateway pushes only the caller\'s own changes (%s)', (platform) => {
  let app: INestApplication;
  let url: string;
  let counter = 0;
  const sockets: WebSocket[] = [];

  const login = async () => {
    const email = `live${++counter}-${platform}@example.com`;
    const http = request(app.getHttpServer());
    await http.post('/auth/register').set('Content-Type', 'application/json').send({ email, password: PASSWORD }).expect(201);
    return (await http.post('/auth/login').set('Content-Type', 'application/json').send({ email, password: PASSWORD }).expect(200)).body.accessToken as string;
  };
  const watch = async (token: string, origin = ORIGIN) => {
    const socket = new WebSocket(`${url}/notes/live`, { headers: { Authorization: `Bearer ${token}`, Origin: origin } });
    sockets.push(socket);
    const messages: Received[] = [];
    socket.on('message', (raw) => messages.push(JSON.parse(String(raw)) as Received));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    const opened = await new Promise<boolean>((resolve) => {
      socket.once('open', () => resolve(true));
      socket.once('unexpected-response', () => resolve(false));
      socket.once('error', () => resolve(false));
    });
    if (opened) socket.send(JSON.stringify({ event: 'notes:watch', data: {} }));
    const waitFor = async (predicate: (message: Received) => boolean, within = 3000) => {
      for (const deadline = Date.now() + within; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 25))) {
        const found = messages.find(predicate);
        if (found) return found;
      }
      return undefined;
    };
    if (opened) await waitFor((message) => message.event === 'notes:watching');
    return { opened, messages, closed, waitFor };
  };

  beforeAll(async () => {
    app = await createSampleApp(platform, false);
    await app.listen(0, '127.0.0.1');
    url = `ws://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await app?.close();
  });

  it("sends a user their own note's changes and nothing of another user's", async () => {
    const alice = await login();
    const bob = await login();
    const aliceLive = await watch(alice);
    const bobLive = await watch(bob);
    expect(aliceLive.opened && bobLive.opened).toBe(true);
    const note = (await request(app.getHttpServer()).post('/notes').set('Authorization', `Bearer ${alice}`).set('Content-Type', 'application/json').send({ title: 'secret plan', body: 'b' }).expect(201)).body;
    expect((await aliceLive.waitFor((message) => message.event === 'note:changed'))?.data).toEqual({ type: 'created', id: note.id, title: 'secret plan' });
    expect(await bobLive.waitFor((message) => message.event === 'note:changed', 500)).toBeUndefined();
    expect(JSON.stringify(bobLive.messages)).not.toContain('secret plan');
  });

  it('refuses a socket from another site, and closes a socket at logout', async () => {
    const token = await login();
    expect((await watch(token, 'https://evil.example')).opened).toBe(false);
    const live = await watch(token);
    expect(live.opened).toBe(true);
    await request(app.getHttpServer()).post('/auth/logout').set('Authorization', `Bearer ${token}`).expect((response) => expect(response.status).toBeLessThan(300));
    const closed = await Promise.race([live.closed.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 10_000))]);
    expect(closed).toBe(true);
  }, 20_000);
});

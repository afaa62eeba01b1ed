import type { INestApplication, INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NatsRecordBuilder } from '@nestjs/microservices';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { headers as natsHeaders } from 'nats';
import { firstValueFrom } from 'rxjs';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSampleApp } from '../../sample/src/app.factory.js';
import { NotesIndexing } from '../../sample/src/notes/notes-indexing.js';
import { NotesIndex } from '../../sample/src/worker/notes-index.js';
import { NatsClient, NatsServer } from '../../sample/src/worker/nats.transport.js';
import { WorkerModule } from '../../sample/src/worker/worker.module.js';
import { requireNatsUrl } from './transport-services.js';

const natsUrl = requireNatsUrl();

describe.skipIf(!natsUrl)('sample: the notes indexer accepts only the API\'s service identity (NATS)', () => {
  const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const audience = `notes-worker-${randomUUID().slice(0, 8)}`;
  let api: INestApplication;
  let worker: INestMicroservice;
  let raw: NatsClient;
  const saved = { ...process.env };

  beforeAll(async () => {
    Object.assign(process.env, {
      ZT_DB: 'memory',
      ZT_AUTH_RATE_LIMIT: '10000',
      ZT_JWT_PRIVATE_KEY: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
      ZT_JWT_KID: 'api-test',
      ZT_NATS_URL: natsUrl,
      ZT_WORKER_AUDIENCE: audience,
    });
    worker = await NestFactory.createMicroservice(
      WorkerModule.forRoot({ ZT_API_PUBLIC_KEY: keys.publicKey.export({ type: 'spki', format: 'pem' }) as string, ZT_JWT_KID: 'api-test', ZT_WORKER_AUDIENCE: audience }),
      { strategy: new NatsServer({ servers: natsUrl! }), logger: false, abortOnError: false },
    );
    await worker.listen();
    api = await createSampleApp('express', false);
    raw = new NatsClient({ servers: natsUrl! });
  });
  afterAll(async () => {
    await raw?.close();
    await api?.close();
    await worker?.close();
    for (const name of ['ZT_DB', 'ZT_AUTH_RATE_LIMIT', 'ZT_JWT_PRIVATE_KEY', 'ZT_JWT_KID', 'ZT_NATS_URL', 'ZT_WORKER_AUDIENCE']) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });

  it("indexes the API's note changes, and answers the API's searches", async () => {
    const http = request(api.getHttpServer());
    const email = `indexed-${randomUUID()}@example.com`;
    await http.post('/auth/register').set('Content-Type', 'application/json').send({ email, password: 'correct horse battery' }).expect(201);
    const { accessToken } = (await http.post('/auth/login').set('Content-Type', 'application/json').send({ email, password: 'correct horse battery' }).expect(200)).body;
    const note = (await http.post('/notes').set('Authorization', `Bearer ${accessToken}`).set('Content-Type', 'application/json').send({ title: 'Quarterly plan', body: 'b' }).expect(201)).body;
    const index = worker.get(NotesIndex);
    for (let i = 0; i < 100 && index.size === 0; i++) await new Promise((resolve) => setTimeout(resolve, 25));
    expect(index.search(note.ownerId, 'plan')).toEqual([note.id]);
    await expect(api.get(NotesIndexing).search(note.ownerId, 'quarterly')).resolves.toEqual({ ids: [note.id] });
  });

  it('refuses a search or a forged change without the identity or with a user token, and the index stays as it was', async () => {
    const index = worker.get(NotesIndex);
    const before = index.size;
    const record = (data: unknown, token: string) => {
      const headers = natsHeaders();
      headers.set('authorization', `Bearer ${token}`);
      return new NatsRecordBuilder(data).setHeaders(headers).build();
    };
    const forged = { type: 'created', id: randomUUID(), ownerId: randomUUID(), title: 'planted' };
    await firstValueFrom(raw.emit('notes.changed', forged), { defaultValue: undefined });
    await expect(firstValueFrom(raw.send('notes.search', { ownerId: randomUUID(), text: 'a' }))).rejects.toBeDefined();
    // A user's access token of the API: signed by the right key, but not a service token for the worker.
    const http = request(api.getHttpServer());
    const email = `user-${randomUUID()}@example.com`;
    await http.post('/auth/register').set('Content-Type', 'application/json').send({ email, password: 'correct horse battery' }).expect(201);
    const { accessToken } = (await http.post('/auth/login').set('Content-Type', 'application/json').send({ email, password: 'correct horse battery' }).expect(200)).body;
    await firstValueFrom(raw.emit('notes.changed', record(forged, accessToken)), { defaultValue: undefined });
    await expect(firstValueFrom(raw.send('notes.search', record({ ownerId: randomUUID(), text: 'a' }, accessToken)))).rejects.toBeDefined();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(index.size).toBe(before);
    expect(index.search(forged.ownerId, 'planted')).toEqual([]);
  });
});

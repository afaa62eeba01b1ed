import { Controller, type INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { INestMicroservice } from '@nestjs/common';
import { EventPattern, MessagePattern, NatsRecordBuilder, Payload } from '@nestjs/microservices';
import { TypeOrmModule, type TypeOrmModuleOptions } from '@nestjs/typeorm';
import { IsString, IsUUID, MaxLength } from 'class-validator';
import { CurrentUser, Scopes, ServiceTokens, TokenService, ZeroTrustModule, type ZeroTrustPrincipal } from 'nestjs-zero-trust';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { headers as natsHeaders } from 'nats';
import { firstValueFrom } from 'rxjs';
import { Column, DataSource, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { PGliteDriver } from 'typeorm-pglite';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { NatsClient, NatsServer } from '../../sample/src/worker/nats.transport.js';
import { CaptureAuditSink } from '../support/capture-audit.sink.js';
import { es256, forgeToken, nowSeconds } from '../support/jwt-forge.js';
import { requireNatsUrl } from './transport-services.js';

const natsUrl = requireNatsUrl();

@Entity('indexed_notes')
class IndexedNote {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column('varchar')
  noteId!: string;

  @Column('varchar')
  indexedBy!: string;
}

class IndexRequest {
  @IsUUID()
  noteId!: string;

  @IsString()
  @MaxLength(200)
  title!: string;
}

const ISSUER = 'https://api.test';

describe.skipIf(!natsUrl)('microservice messages are zero-trust (NATS)', () => {
  const subject = `zt-test-${randomUUID().slice(0, 8)}`;
  const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const privateKey = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const publicKey = keys.publicKey.export({ type: 'spki', format: 'pem' }) as string;
  const workerAudit = new CaptureAuditSink();
  let api: INestApplicationContext;
  let worker: INestMicroservice;
  let client: NatsClient;
  let tokens: ServiceTokens;

  @Controller()
  class IndexerController {
    constructor(private readonly dataSource: DataSource) {}

    @Scopes('notes:index')
    @MessagePattern(`${subject}.index`)
    async index(@Payload() request: IndexRequest, @CurrentUser() caller: ZeroTrustPrincipal) {
      await this.dataSource.getRepository(IndexedNote).insert({ noteId: request.noteId, indexedBy: caller.subject });
      return { indexed: request.noteId, by: caller.subject };
    }

    @Scopes('notes:index')
    @EventPattern<string>(`${subject}.changed`)
    async changed(@Payload() request: IndexRequest, @CurrentUser() caller: ZeroTrustPrincipal) {
      await this.dataSource.getRepository(IndexedNote).insert({ noteId: request.noteId, indexedBy: `event:${caller.subject}` });
    }

    @Scopes('notes:index')
    @MessagePattern(`${subject}.crash`)
    async crash() {
      return this.dataSource.query('SELECT secret_column FROM no_such_secret_table');
    }

    @Scopes('notes:purge')
    @MessagePattern(`${subject}.purge`)
    async purge() {
      await this.dataSource.getRepository(IndexedNote).clear();
      return { purged: true };
    }
  }

  const rows = () => worker.get(DataSource).getRepository(IndexedNote).count();
  const send = (pattern: string, data: unknown) => firstValueFrom(client.send(`${subject}.${pattern}`, data));
  const withHeader = (data: unknown, authorization: string) => {
    const headers = natsHeaders();
    headers.set('authorization', authorization);
    return new NatsRecordBuilder(data).setHeaders(headers).build();
  };
  const note = () => ({ noteId: randomUUID(), title: 'a note' });

  beforeAll(async () => {
    @Module({ imports: [ZeroTrustModule.forRoot({ issuer: ISSUER, audience: 'notes-api', keys: [{ kid: 'api-1', alg: 'ES256', privateKey }] })] })
    class ApiModule {}
    api = await NestFactory.createApplicationContext(ApiModule, { logger: false });
    tokens = api.get(ServiceTokens);

    @Module({
      imports: [
        ZeroTrustModule.forRoot({ issuer: ISSUER, audience: 'notes-worker', keys: [{ kid: 'api-1', alg: 'ES256', publicKey }], auditSinks: [workerAudit], audit: { authSuccess: 'all' } }),
        TypeOrmModule.forRoot({ type: 'postgres', driver: new PGliteDriver().driver, entities: [IndexedNote], synchronize: true, retryAttempts: 0 } as TypeOrmModuleOptions),
      ],
      controllers: [IndexerController],
    })
    class WorkerModule {}
    worker = await NestFactory.createMicroservice(WorkerModule, { strategy: new NatsServer({ servers: natsUrl! }), logger: false });
    await worker.listen();
    client = new NatsClient({ servers: natsUrl!, timeout: 5000 });
    await client.connect();
  });
  afterAll(async () => {
    await client?.close();
    await worker?.close();
    await api?.close();
  });
  beforeEach(() => workerAudit.clear());

  it("accepts a message carrying the API's service identity, and audits the caller", async () => {
    const indexer = tokens.client(client, { service: 'notes-api', audience: 'notes-worker', scopes: ['notes:index'] });
    const before = await rows();
    const request = note();
    await expect(firstValueFrom(indexer.send(`${subject}.index`, request))).resolves.toEqual({ indexed: request.noteId, by: 'service:notes-api' });
    expect(await rows()).toBe(before + 1);
    expect(workerAudit.events.find((event) => event.type === 'auth.success')?.principal?.subject).toBe('service:notes-api');
  });

  it('refuses a message with no service identity, and stores nothing', async () => {
    const before = await rows();
    await expect(send('index', note())).rejects.toBeDefined();
    expect(await rows()).toBe(before);
    expect(workerAudit.events.find((event) => event.type === 'auth.failure')?.reason).toBe('missing_token');
  });

  it('refuses a forged identity: another key, alg none, an expired token, a user access token', async () => {
    const before = await rows();
    const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const claims = { iss: ISSUER, aud: 'notes-worker#service', sub: 'service:notes-api', scope: 'notes:index', jti: randomUUID() };
    const forged = forgeToken({ alg: 'ES256', typ: 'at+jwt', kid: 'api-1' }, { ...claims, iat: nowSeconds(), exp: nowSeconds() + 60 }, es256(stranger));
    const none = forgeToken({ alg: 'none', typ: 'at+jwt', kid: 'api-1' }, { ...claims, iat: nowSeconds(), exp: nowSeconds() + 60 }, () => '');
    const expired = forgeToken({ alg: 'ES256', typ: 'at+jwt', kid: 'api-1' }, { ...claims, iat: nowSeconds() - 600, exp: nowSeconds() - 300 }, es256(keys.privateKey));
    // A user's access token of the API: right key and issuer, but not a service audience.
    const userToken = api.get(TokenService).issueAccessToken({ subject: 'alice', scopes: ['notes:index'] }).accessToken;
    for (const token of [forged, none, expired, userToken]) {
      await expect(send('index', withHeader(note(), `Bearer ${token}`))).rejects.toBeDefined();
    }
    expect(await rows()).toBe(before);
    expect(workerAudit.events.filter((event) => event.type === 'auth.failure').map((event) => event.reason)).toEqual(['bad_signature', 'algorithm_not_allowed', 'expired', 'wrong_audience']);
  });

  it('refuses a replayed message: each service token is accepted once', async () => {
    const before = await rows();
    const token = tokens.issue({ service: 'notes-api', audience: 'notes-worker', scopes: ['notes:index'] });
    await send('index', withHeader(note(), `Bearer ${token}`));
    await expect(send('index', withHeader(note(), `Bearer ${token}`))).rejects.toBeDefined();
    expect(await rows()).toBe(before + 1);
    expect(workerAudit.last('auth.failure')?.reason).toBe('token_replayed');
  });

  it('refuses a service whose token lacks the handler scope (narrow scopes)', async () => {
    const before = await rows();
    const indexer = tokens.client(client, { service: 'notes-api', audience: 'notes-worker', scopes: ['notes:index'] });
    await expect(firstValueFrom(indexer.send(`${subject}.purge`, {}))).rejects.toBeDefined();
    expect(await rows()).toBe(before);
    expect(workerAudit.last('access.denied')?.reason).toBe('missing_scope');
  });

  it('validates message payloads with the same pipe: an extra field is refused', async () => {
    const before = await rows();
    const indexer = tokens.client(client, { service: 'notes-api', audience: 'notes-worker', scopes: ['notes:index'] });
    const refusal = (data: unknown) => firstValueFrom(indexer.send(`${subject}.index`, data)).then(() => 'accepted', (error: unknown) => JSON.stringify(error));
    expect(await refusal({ ...note(), ownerId: 'someone' })).toMatch(/property ownerId should not exist/);
    let deep: Record<string, unknown> = { leaf: true };
    for (let i = 0; i < 40; i++) deep = { deep };
    expect(await refusal({ ...note(), deep })).toMatch(/deep/i);
    expect(await refusal({ ...note(), title: 'x'.repeat(70_000) })).toMatch(/too large/i);
    expect(await rows()).toBe(before);
  });

  it('answers a failing handler with the generic body: no SQL, no driver detail', async () => {
    const indexer = tokens.client(client, { service: 'notes-api', audience: 'notes-worker', scopes: ['notes:index'] });
    const error = await firstValueFrom(indexer.send(`${subject}.crash`, {})).then(() => undefined, (reason: unknown) => reason);
    expect(error).toEqual({ statusCode: 500, message: 'Internal server error', error: 'Internal Server Error' });
    expect(JSON.stringify(error)).not.toMatch(/no_such_secret_table|secret_column|SELECT/);
  });

  it('runs an event handler only for a verified service identity', async () => {
    const before = await rows();
    await firstValueFrom(client.emit(`${subject}.changed`, note()), { defaultValue: undefined });
    const indexer = tokens.client(client, { service: 'notes-api', audience: 'notes-worker', scopes: ['notes:index'] });
    await firstValueFrom(indexer.emit(`${subject}.changed`, note()), { defaultValue: undefined });
    // Events have no reply: wait until the accepted one is stored, then check that only it was.
    for (let i = 0; i < 100 && (await rows()) < before + 1; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await rows()).toBe(before + 1);
    expect(workerAudit.events.filter((event) => event.type === 'auth.failure')).toHaveLength(1);
  });
});

describe('microservice boot check', () => {
  it('refuses to boot in strict mode and names the message pattern without a rule', async () => {
    @Controller()
    class UnruledWorker {
      @MessagePattern('notes.unruled')
      unruled() {
        return 'anyone';
      }
    }
    @Module({ imports: [ZeroTrustModule.forRoot({ issuer: ISSUER, audience: 'notes-worker' })], controllers: [UnruledWorker] })
    class UnruledModule {}
    await expect(NestFactory.createApplicationContext(UnruledModule, { logger: false, abortOnError: false })).rejects.toThrow(/rpc message notes\.unruled \(UnruledWorker\.unruled\)/);
  });
});

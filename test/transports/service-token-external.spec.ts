import { Controller, Get, type INestApplication, type INestApplicationContext, type INestMicroservice, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, NatsRecordBuilder, Payload } from '@nestjs/microservices';
import { Redis } from 'ioredis';
import { CurrentUser, type ExternalIssuerOptions, PrincipalBlocklist, Scopes, ServiceTokens, ZeroTrustModule, type ZeroTrustPrincipal } from 'nestjs-zero-trust';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { headers as natsHeaders } from 'nats';
import { firstValueFrom } from 'rxjs';
import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { NatsClient, NatsServer } from '../../sample/src/worker/nats.transport.js';
import { CaptureAuditSink } from '../support/capture-audit.sink.js';
import { forgeToken, nowSeconds, rs256 } from '../support/jwt-forge.js';
import { requireRedisUrl } from '../support/services.js';
import { bootstrapApp } from '../support/test-app.js';
import { requireNatsUrl } from './transport-services.js';

/**
 * Service identities from an external OpenID Connect provider (issue 17): a machine client of Keycloak,
 * Auth0 or Entra gets a client-credentials token for the audience the provider is told to put in tokens
 * meant for this app's message handlers (`serviceAudiences`), and presents it on every message. It must
 * be held to the provider's keys and rules, count once, grant only allow-listed scopes, and never be
 * confused with a user's token of the same provider: not on messages, not on HTTP routes.
 */
const natsUrl = requireNatsUrl();
const redisUrl = requireRedisUrl();

const OWN_ISSUER = 'https://worker.test';
const PROVIDER = 'https://keycloak.test/realms/acme';
/** A provider trusted for users only: it names no service audience. */
const USERS_ONLY = 'https://users-only.test';
const USER_AUDIENCE = 'notes-api';
const SERVICE_AUDIENCE = 'notes-worker';
const SERVICE = 'svc-7f3a';

const provider = generateKeyPairSync('rsa', { modulusLength: 2048 });
const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 });

type Forge = { header?: Record<string, unknown>; key?: typeof provider.privateKey; drop?: string[] };

/** A token as the provider would mint it for the client-credentials grant (Keycloak shape), with overrides. */
function providerToken(claims: Record<string, unknown> = {}, forge: Forge = {}): string {
  const payload: Record<string, unknown> = {
    iss: PROVIDER,
    aud: SERVICE_AUDIENCE,
    sub: SERVICE,
    azp: 'indexer-client',
    scope: 'notes:index',
    iat: nowSeconds(),
    exp: nowSeconds() + 300,
    jti: randomUUID(),
    ...claims,
  };
  for (const name of forge.drop ?? []) delete payload[name];
  return forgeToken({ alg: 'RS256', typ: 'at+jwt', kid: 'idp-1', ...forge.header }, payload, rs256(forge.key ?? provider.privateKey));
}

const issuers = (jwksUri: string): ExternalIssuerOptions[] => [
  {
    issuer: PROVIDER,
    jwksUri,
    audience: USER_AUDIENCE,
    serviceAudiences: [SERVICE_AUDIENCE],
    allowedScopes: ['notes:index'],
    maxTokenLifetime: 600,
  },
  { issuer: USERS_ONLY, jwksUri, audience: USER_AUDIENCE, allowedScopes: ['notes:index'] },
];

describe.skipIf(!natsUrl)('service identities of an external issuer (NATS, HTTP)', () => {
  const subject = `zt-ext-${randomUUID().slice(0, 8)}`;
  const audit = new CaptureAuditSink();
  const handled: Array<Pick<ZeroTrustPrincipal, 'subject' | 'ownerId' | 'scopes' | 'issuer'>> = [];
  let jwks: Server;
  let worker: INestMicroservice;
  let http: INestApplication;
  let client: NatsClient;

  @Controller()
  class IndexerController {
    @Scopes('notes:index')
    @MessagePattern(`${subject}.index`)
    index(@Payload() _data: unknown, @CurrentUser() caller: ZeroTrustPrincipal) {
      const seen = { subject: caller.subject, ownerId: caller.ownerId, scopes: caller.scopes, issuer: caller.issuer };
      handled.push(seen);
      return seen;
    }

    @Scopes('notes:purge')
    @MessagePattern(`${subject}.purge`)
    purge() {
      handled.push({ subject: 'purged', ownerId: 'purged', scopes: [], issuer: 'purged' });
      return { purged: true };
    }
  }

  @Controller()
  class NotesController {
    @Scopes('notes:index')
    @Get('notes')
    notes(@CurrentUser() caller: ZeroTrustPrincipal) {
      return { ownerId: caller.ownerId };
    }
  }

  const send = (pattern: string, token: string) => {
    const headers = natsHeaders();
    headers.set('authorization', `Bearer ${token}`);
    return firstValueFrom(client.send(`${subject}.${pattern}`, new NatsRecordBuilder({}).setHeaders(headers).build()));
  };
  const failures = () => audit.events.filter((event) => event.type === 'auth.failure').map((event) => event.reason);
  const verify = (token: string) => worker.get(ServiceTokens).verify(token);

  beforeAll(async () => {
    jwks = createServer((_req, res) => {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ keys: [{ ...provider.publicKey.export({ format: 'jwk' }), kid: 'idp-1', alg: 'RS256', use: 'sig' }] }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const jwksUri = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`;

    @Module({
      imports: [ZeroTrustModule.forRoot({ issuer: OWN_ISSUER, audience: SERVICE_AUDIENCE, externalIssuers: issuers(jwksUri), auditSinks: [audit], audit: { authSuccess: 'all' }, anomalyRules: false })],
      controllers: [IndexerController],
    })
    class WorkerModule {}
    worker = await NestFactory.createMicroservice(WorkerModule, { strategy: new NatsServer({ servers: natsUrl! }), logger: false, abortOnError: false });
    await worker.listen();
    client = new NatsClient({ servers: natsUrl!, timeout: 5000 });
    await client.connect();

    // The API that users call over HTTP, trusting the same provider for the same audiences.
    @Module({
      imports: [ZeroTrustModule.forRoot({ issuer: OWN_ISSUER, audience: 'own-users', externalIssuers: issuers(jwksUri), anomalyRules: false })],
      controllers: [NotesController],
    })
    class HttpModule {}
    http = await bootstrapApp(HttpModule, 'express');
  });
  afterAll(async () => {
    await client?.close();
    await worker?.close();
    await http?.close();
    await new Promise((resolve) => jwks?.close(resolve));
  });
  beforeEach(() => {
    audit.clear();
    handled.length = 0;
  });

  it("accepts the provider's client-credentials token for the service audience, as a service principal of that provider", async () => {
    const reply = await send('index', providerToken({ scope: 'notes:index notes:purge' }));
    // `notes:purge` is not on the provider's allow-list: not granted. The owner id is the provider's, marked as a service.
    const expected = { subject: `service:${SERVICE}`, ownerId: `${PROVIDER}#service:${SERVICE}`, scopes: ['notes:index'], issuer: PROVIDER };
    expect(reply).toEqual(expected);
    expect(handled).toEqual([expected]);
    // Audited as for this app's own service tokens: the principal as the provider's, marked as a service.
    expect(audit.last('auth.success')?.principal?.subject).toBe(`${PROVIDER}#service:${SERVICE}`);
  });

  it('refuses the same token replayed: each jti counts once for its lifetime', async () => {
    const token = providerToken();
    await send('index', token);
    await expect(send('index', token)).rejects.toBeDefined();
    expect(handled).toHaveLength(1);
    expect(failures()).toEqual(['token_replayed']);
  });

  it("refuses a user's token of that provider on messages, even one that also names the service audience", async () => {
    await expect(send('index', providerToken({ aud: USER_AUDIENCE, sub: 'alice' }))).rejects.toBeDefined();
    await expect(send('index', providerToken({ aud: [USER_AUDIENCE, SERVICE_AUDIENCE], sub: 'alice' }))).rejects.toBeDefined();
    expect(handled).toHaveLength(0);
    expect(failures()).toEqual(['wrong_audience', 'wrong_audience']);
  });

  it("refuses the provider's service token on an HTTP route (while its user token passes there)", async () => {
    await request(http.getHttpServer()).get('/notes').set('Authorization', `Bearer ${providerToken()}`).expect(401);
    const user = await request(http.getHttpServer()).get('/notes').set('Authorization', `Bearer ${providerToken({ aud: USER_AUDIENCE, sub: 'alice' })}`).expect(200);
    expect(user.body).toEqual({ ownerId: `${PROVIDER}#alice` });
  });

  it('refuses every token of an issuer that names no service audience', async () => {
    await expect(send('index', providerToken({ iss: USERS_ONLY }))).rejects.toBeDefined();
    await expect(send('index', providerToken({ iss: USERS_ONLY, aud: USER_AUDIENCE }))).rejects.toBeDefined();
    expect(handled).toHaveLength(0);
    expect(failures()).toEqual(['wrong_issuer', 'wrong_issuer']);
  });

  it('refuses an expired token, another key, an unknown kid, no jti, a JWT-typed token, a lifetime over the issuer cap', async () => {
    const cases: Array<[string, string]> = [
      [providerToken({ iat: nowSeconds() - 600, exp: nowSeconds() - 300 }), 'expired'],
      [providerToken({}, { key: stranger.privateKey }), 'bad_signature'],
      [providerToken({}, { header: { kid: 'idp-unpublished' }, key: stranger.privateKey }), 'unknown_key'],
      [providerToken({}, { drop: ['jti'] }), 'missing_claim'],
      [providerToken({}, { header: { typ: 'JWT' } }), 'wrong_type'],
      [providerToken({ exp: nowSeconds() + 3600 }), 'lifetime_exceeded'],
    ];
    for (const [token, reason] of cases) await expect(verify(token), reason).rejects.toMatchObject({ reason });
  });

  it('grants only allow-listed scopes: a scope the provider grants but this app never listed is refused', async () => {
    await expect(send('purge', providerToken({ scope: 'notes:purge' }))).rejects.toBeDefined();
    expect(handled).toHaveLength(0);
    expect(audit.last('access.denied')?.reason).toBe('missing_scope');
  });

  it('refuses a sender-constrained token: no proof of possession travels with a message', async () => {
    await expect(verify(providerToken({ cnf: { jkt: 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs' } }))).rejects.toMatchObject({ reason: 'invalid_token' });
  });

  it('refuses a service principal an operator blocked, by its service subject', async () => {
    const blocked = `blocked-${randomUUID().slice(0, 8)}`;
    await worker.get(PrincipalBlocklist).block(PROVIDER, `service:${blocked}`, 60);
    await expect(verify(providerToken({ sub: blocked }))).rejects.toMatchObject({ reason: 'principal_blocked' });
  });
});

describe.skipIf(!redisUrl)("an external issuer's service token replayed to another instance sharing Redis", () => {
  const prefix = `zt-svc-ext-${randomUUID().slice(0, 8)}:`;
  const workers: INestApplicationContext[] = [];
  let jwks: Server;

  beforeAll(async () => {
    jwks = createServer((_req, res) => {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ keys: [{ ...provider.publicKey.export({ format: 'jwk' }), kid: 'idp-1', alg: 'RS256', use: 'sig' }] }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const jwksUri = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`;
    for (let i = 0; i < 2; i++) {
      @Module({ imports: [ZeroTrustModule.forRoot({ issuer: OWN_ISSUER, audience: SERVICE_AUDIENCE, externalIssuers: issuers(jwksUri), store: redisUrl!, storeKeyPrefix: prefix, anomalyRules: false })] })
      class InstanceModule {}
      workers.push(await NestFactory.createApplicationContext(InstanceModule, { logger: false, abortOnError: false }));
    }
  });
  afterAll(async () => {
    for (const worker of workers) await worker.close();
    await new Promise((resolve) => jwks?.close(resolve));
    const redis = new Redis(redisUrl!);
    const stale = await redis.keys(`${prefix}*`);
    if (stale.length > 0) await redis.del(...stale);
    await redis.quit();
  });

  it('accepts the token once on one instance and refuses it on the other', async () => {
    const token = providerToken();
    await expect(workers[0].get(ServiceTokens).verify(token)).resolves.toMatchObject({ subject: `service:${SERVICE}`, scopes: ['notes:index'] });
    await expect(workers[1].get(ServiceTokens).verify(token)).rejects.toThrow(/already used/);
  });

  it('lets exactly one of two racing deliveries of one token through', async () => {
    const token = providerToken();
    const outcomes = await Promise.allSettled(workers.map((worker) => worker.get(ServiceTokens).verify(token)));
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
  });
});

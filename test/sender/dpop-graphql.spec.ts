import type { INestApplication } from '@nestjs/common';
import { generateKeyPair, generateProof, type KeyPair } from 'dpop';
import { calculateJwkThumbprint, exportJWK } from 'jose';
import { TokenService } from 'nestjs-zero-trust';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaptureAuditSink } from '../support/capture-audit.sink.js';
import { PLATFORMS } from '../support/test-app.js';
import { createGraphqlApp } from '../transports/graphql-app.js';

type GqlResponse = { data?: Record<string, unknown> | null; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };
const ORIGIN = 'https://api.test';

/** GraphQL runs the guard once per field: a DPoP-bound token needs its proof there too, checked once per HTTP request. */
describe.each(PLATFORMS)('DPoP over GraphQL (%s)', (platform) => {
  let app: INestApplication;
  let audit: CaptureAuditSink;
  let key: KeyPair;
  let token: string;

  beforeAll(async () => {
    ({ app, audit } = await createGraphqlApp(platform, { module: { senderConstraint: { dpop: { origins: [ORIGIN] } } } }));
    key = await generateKeyPair('ES256');
    token = app.get(TokenService).issueAccessToken({ subject: 'gql-user', dpop: { jkt: await calculateJwkThumbprint(await exportJWK(key.publicKey)) } }).accessToken;
  });
  afterAll(() => app?.close());

  const query = async (headers: Record<string, string>) =>
    (await request(app.getHttpServer()).post('/graphql').set('Content-Type', 'application/json').set(headers).send({ query: '{ a: me b: me }' })).body as GqlResponse;

  it('answers every aliased field of one request with one proof (not a replay of itself)', async () => {
    const body = await query({ authorization: `DPoP ${token}`, dpop: await generateProof(key, `${ORIGIN}/graphql`, 'POST', undefined, token) });
    expect(body.errors).toBeUndefined();
    expect(body.data).toEqual({ a: 'gql-user', b: 'gql-user' });
  });

  it('refuses the bound token without a proof, as Bearer, and with a replayed proof', async () => {
    expect((await query({ authorization: `DPoP ${token}` })).data ?? null).toBeNull();
    expect(audit.last('auth.failure')?.reason).toBe('dpop_proof_missing');
    expect((await query({ authorization: `Bearer ${token}` })).data ?? null).toBeNull();
    expect(audit.last('auth.failure')?.reason).toBe('dpop_bound_token_as_bearer');
    const proof = await generateProof(key, `${ORIGIN}/graphql`, 'POST', undefined, token);
    expect((await query({ authorization: `DPoP ${token}`, dpop: proof })).data).toEqual({ a: 'gql-user', b: 'gql-user' });
    const replayed = await query({ authorization: `DPoP ${token}`, dpop: proof });
    expect(replayed.data ?? null).toBeNull();
    expect(replayed.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(audit.last('auth.failure')?.reason).toBe('dpop_replay');
  });
});

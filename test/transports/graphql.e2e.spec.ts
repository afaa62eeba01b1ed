import type { INestApplication } from '@nestjs/common';
import { Resolver, Query } from '@nestjs/graphql';
import { mintTestToken } from 'nestjs-zero-trust';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { es256, forgeToken, hs256, nowSeconds } from '../support/jwt-forge.js';
import type { CaptureAuditSink } from '../support/capture-audit.sink.js';
import { PLATFORMS } from '../support/test-app.js';
import { calls, createGraphqlApp, GqlNote } from './graphql-app.js';

type GqlResponse = { data?: Record<string, unknown> | null; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };

describe.each(PLATFORMS)('GraphQL is zero-trust (%s)', (platform) => {
  const signingKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  let app: INestApplication;
  let audit: CaptureAuditSink;
  let alice: string;
  let bob: string;
  let aliceNote: string;
  let bobNotes: string[];

  const gql = async (query: string, token?: string, variables?: Record<string, unknown>): Promise<GqlResponse> => {
    const call = request(app.getHttpServer()).post('/graphql').set('Content-Type', 'application/json');
    if (token) call.set('Authorization', `Bearer ${token}`);
    const response = await call.send({ query, variables });
    return response.body as GqlResponse;
  };
  const rows = () => app.get(DataSource).getRepository(GqlNote).find({ order: { title: 'ASC' } });

  beforeAll(async () => {
    ({ app, audit } = await createGraphqlApp(platform, {
      module: { throttle: { default: { limit: 70, window: 60 } }, keys: [{ kid: 'gql', alg: 'ES256', privateKey: signingKey.export({ type: 'pkcs8', format: 'pem' }) as string }] },
      graphql: { maxAliases: 100, maxCost: 100_000, maxTokens: 5000 },
    }));
    const repository = app.get(DataSource).getRepository(GqlNote);
    aliceNote = (await repository.save({ ownerId: 'alice', title: 'alice-1' })).id;
    bobNotes = [];
    for (let i = 0; i < 100; i++) bobNotes.push(randomUUID());
    await repository.insert(bobNotes.map((id, i) => ({ id, ownerId: 'bob', title: `bob-${String(i).padStart(3, '0')}` })));
    alice = await mintTestToken(app, { subject: 'alice' });
    bob = await mintTestToken(app, { subject: 'bob' });
  });
  afterAll(() => app?.close());
  beforeEach(() => {
    audit.clear();
    calls.note = 0;
    calls.rename = 0;
    calls.secretTitle = 0;
  });

  it('answers a public query without a token', async () => {
    expect((await gql('{ hello }')).data).toEqual({ hello: 'hello' });
  });

  it('refuses a query without a token, with forged tokens (a guessed HS256 secret, alg none, expired) and with garbage', async () => {
    const forged = forgeToken({ alg: 'HS256', typ: 'at+jwt' }, { iss: 'https://issuer.test', aud: 'gql', sub: 'alice', iat: nowSeconds(), exp: nowSeconds() + 60 }, hs256('guess'));
    const none = forgeToken({ alg: 'none', typ: 'at+jwt' }, { iss: 'https://issuer.test', aud: 'gql', sub: 'alice', iat: nowSeconds(), exp: nowSeconds() + 60 }, () => '');
    // Signed with the app's own key, the right claims, an hour past its expiry.
    const expired = forgeToken({ alg: 'ES256', typ: 'at+jwt', kid: 'gql' }, { iss: 'https://issuer.test', aud: 'gql', sub: 'alice', iat: nowSeconds() - 3900, exp: nowSeconds() - 3600 }, es256(signingKey));
    for (const token of [undefined, forged, none, expired, 'not-a-jwt']) {
      const body = await gql(`{ note(id: "${aliceNote}") { id title } }`, token);
      expect(body.data?.note ?? null).toBeNull();
      expect(body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    }
    expect(calls.note).toBe(0);
    expect(audit.events.filter((event) => event.type === 'auth.failure').map((event) => event.reason)).toEqual(['missing_token', 'algorithm_not_allowed', 'algorithm_not_allowed', 'expired', 'malformed']);
  });

  it("serves the caller's own note and refuses another user's id as not found", async () => {
    expect((await gql(`{ note(id: "${aliceNote}") { id title ownerId } }`, alice)).data).toEqual({ note: { id: aliceNote, title: 'alice-1', ownerId: 'alice' } });
    const stolen = await gql(`{ note(id: "${bobNotes[0]}") { id title } }`, alice);
    expect(stolen.data?.note ?? null).toBeNull();
    expect(stolen.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(stolen.errors?.[0]?.message).toBe('Resource not found');
    expect(calls.note).toBe(1);
  });

  it('checks each of 100 aliased lookups on its own: 100 ownership checks and 100 rate-limit hits, not one', async () => {
    // Its own caller, so the 70 calls this spends of the per-subject limit leave the other tests theirs.
    const mallory = await mintTestToken(app, { subject: 'mallory' });
    const query = `{ ${bobNotes.map((id, i) => `n${i}: note(id: "${id}") { id title }`).join(' ')} }`;
    const body = await gql(query, mallory);
    expect(calls.note).toBe(0);
    const messages = (body.errors ?? []).map((error) => error.message);
    // Every alias counted against the limit (70 per window): the first 70 each passed it and were refused
    // by their own ownership check, the other 30 were stopped by the limit.
    expect(messages.filter((message) => message === 'Resource not found')).toHaveLength(70);
    expect(messages.filter((message) => message === 'Too many requests')).toHaveLength(30);
    expect(JSON.stringify(body)).not.toContain('bob-');
  });

  it("refuses a mutation of another user's note and changes no row", async () => {
    const before = await rows();
    const body = await gql(`mutation { renameNote(id: "${bobNotes[1]}", title: "pwned") { id title } }`, bob === alice ? bob : alice);
    expect(body.errors?.[0]?.message).toMatch(/not found|Too many/);
    expect(calls.rename).toBe(0);
    expect(await rows()).toEqual(before);
  });

  it("cannot select a @Sensitive() field: it is not in the schema", async () => {
    const body = await gql(`{ note(id: "${aliceNote}") { id secretHash } }`, alice);
    expect(body.errors?.[0]?.message).toMatch(/Cannot query field "secretHash"/);
    expect(JSON.stringify(body)).not.toContain('secret-hash');
  });

  it('runs the rules of a resolve-field on it: a missing scope refuses that field', async () => {
    const body = await gql(`{ note(id: "${aliceNote}") { id auditTrail } }`, alice);
    expect(body.errors?.[0]?.message).toBe('Access denied');
    expect(calls.secretTitle).toBe(0);
    const scoped = await mintTestToken(app, { subject: 'alice', scopes: ['notes:audit'] });
    expect((await gql(`{ note(id: "${aliceNote}") { auditTrail } }`, scoped)).data).toEqual({ note: { auditTrail: `audit of ${aliceNote}` } });
  });

  it('refuses an over-deep or over-aliased document before any resolver runs', async () => {
    let nested = 'id';
    for (let i = 0; i < 12; i++) nested = `__typename n: note(id: "${aliceNote}") { ${nested} }`;
    const deep = await gql(`{ note(id: "${aliceNote}") { ${nested} } }`, alice);
    expect(deep.errors?.length).toBeGreaterThan(0);
    const aliases = `{ ${Array.from({ length: 101 }, (_, i) => `a${i}: hello`).join(' ')} }`;
    const wide = await gql(aliases, alice);
    expect(wide.data ?? null).toBeNull();
    expect(wide.errors?.[0]?.message).toMatch(/alias/i);
    expect(calls.note).toBe(0);
  });

  it('masks an internal error: no stack, no SQL', async () => {
    const body = await gql('{ crash }');
    expect(body.errors?.[0]?.message).toBe('Internal server error');
    expect(JSON.stringify(body)).not.toMatch(/select|stack|secrets/i);
  });
});

describe.each(PLATFORMS)('GraphQL boot check and production settings (%s)', (platform) => {
  @Resolver()
  class UnruledResolver {
    @Query(() => String)
    unruled() {
      return 'anyone';
    }
  }

  it('refuses to boot in strict mode and names the query without a rule', async () => {
    await expect(createGraphqlApp(platform, { resolvers: [UnruledResolver] })).rejects.toThrow(/Query unruled \(UnruledResolver\.unruled\)/);
  });

  it('turns introspection and field suggestions off in production', async () => {
    const { app } = await createGraphqlApp(platform, { graphql: { production: true } });
    try {
      const post = (query: string) => request(app.getHttpServer()).post('/graphql').set('Content-Type', 'application/json').send({ query });
      const introspection = (await post('{ __schema { types { name } } }')).body as GqlResponse;
      expect(introspection.data ?? null).toBeNull();
      expect(introspection.errors?.[0]?.message).toMatch(/introspection/i);
      const typo = (await post('{ helo }')).body as GqlResponse;
      expect(typo.errors?.[0]?.message).toMatch(/Cannot query field "helo"/);
      expect(typo.errors?.[0]?.message).not.toMatch(/Did you mean/);
    } finally {
      await app.close();
    }
  });
});

import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppModule } from '../src/app.module.js';

// A throwaway embedded database for this run (see .env.example).
process.env.PGLITE_DATA_DIR = 'memory://';
const PASSWORD = 'correct horse battery';
const json = { 'Content-Type': 'application/json' };

interface Answer {
  data?: Record<string, unknown> | null;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

describe('GraphQL <%= pluralProperty %>: owner-only (OWASP API1/API3)', () => {
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  let a: string;
  let b: string;
  const graphql = async (token: string | undefined, query: string, variables: Record<string, unknown> = {}): Promise<Answer> => {
    const call = http.post('/graphql').set(json);
    if (token) call.set('Authorization', `Bearer ${token}`);
    return (await call.send({ query, variables })).body as Answer;
  };
  const codes = (answer: Answer) => (answer.errors ?? []).map((error) => error.extensions?.code);
  const one = (token: string, id: string) => graphql(token, 'query ($id: ID!) { <%= property %>(id: $id) { id title } }', { id });

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    http = request(app.getHttpServer());
    const tokens: string[] = [];
    for (const email of ['<%= file %>-graphql-a@example.com', '<%= file %>-graphql-b@example.com']) {
      await http.post('/auth/register').set(json).send({ email, password: PASSWORD }).expect(201);
      tokens.push((await http.post('/auth/login').set(json).send({ email, password: PASSWORD }).expect(200)).body.accessToken);
    }
    [a, b] = tokens;
  });
  afterAll(() => app?.close());

  it('needs a token', async () => {
    expect(codes(await graphql(undefined, '{ <%= pluralProperty %> { id } }'))).toEqual(['UNAUTHENTICATED']);
    expect(codes(await graphql(undefined, 'mutation { create<%= className %>(input: { title: "anonymous" }) { id } }'))).toEqual(['UNAUTHENTICATED']);
  });

  it("keeps A's <%= file %> away from B on every operation, and unchanged", async () => {
    const created = await graphql(a, 'mutation ($title: String!) { create<%= className %>(input: { title: $title }) { id title } }', { title: 'mine' });
    const row = created.data?.create<%= className %> as { id: string; title: string };
    expect(row.title).toBe('mine');
    expect(codes(await one(b, row.id))).toEqual(['NOT_FOUND']);
    expect(codes(await graphql(b, 'mutation ($id: ID!) { update<%= className %>(id: $id, input: { title: "pwned" }) { id } }', { id: row.id }))).toEqual(['NOT_FOUND']);
    expect(codes(await graphql(b, 'mutation ($id: ID!) { delete<%= className %>(id: $id) }', { id: row.id }))).toEqual(['NOT_FOUND']);
    // An aliased batch is checked alias by alias: none of them reads A's row.
    const batch = await graphql(b, `query ($id: ID!) { x: <%= property %>(id: $id) { title } y: <%= property %>(id: $id) { title } }`, { id: row.id });
    expect(codes(batch)).toEqual(['NOT_FOUND', 'NOT_FOUND']);
    expect((await graphql(b, '{ <%= pluralProperty %> { id } }')).data?.<%= pluralProperty %>).toEqual([]);
    expect((await one(a, row.id)).data?.<%= property %>).toEqual({ id: row.id, title: 'mine' });
  });

  it('refuses owner and id fields in inputs, unknown arguments, and malformed ids', async () => {
    const extra = await graphql(a, `mutation { create<%= className %>(input: { title: "x", ownerId: "${randomUUID()}" }) { id } }`);
    expect(extra.data ?? null).toBeNull();
    expect(extra.errors?.length).toBeGreaterThan(0);
    const withId = await graphql(a, 'mutation ($input: Create<%= className %>Input!) { create<%= className %>(input: $input) { id } }', { input: { title: 'x', id: randomUUID() } });
    expect(withId.data ?? null).toBeNull();
    expect(withId.errors?.length).toBeGreaterThan(0);
    expect((await graphql(a, `{ <%= pluralProperty %>(ownerId: "${randomUUID()}") { id } }`)).errors?.length).toBeGreaterThan(0);
    expect(codes(await one(a, 'not-a-uuid'))).toEqual(['BAD_REQUEST']);
    // None of the refused writes stored a row.
    expect((await graphql(a, '{ <%= pluralProperty %> { title } }')).data?.<%= pluralProperty %>).toEqual([{ title: 'mine' }]);
  });
});

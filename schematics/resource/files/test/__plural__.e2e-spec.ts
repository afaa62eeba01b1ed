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

describe('/<%= route %>: owner-only (OWASP API1/API3)', () => {
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  let a: string;
  let b: string;
  const as = (token: string) => ({ Authorization: `Bearer ${token}` });

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    http = request(app.getHttpServer());
    const tokens: string[] = [];
    for (const email of ['<%= file %>-a@example.com', '<%= file %>-b@example.com']) {
      await http.post('/auth/register').set(json).send({ email, password: PASSWORD }).expect(201);
      tokens.push((await http.post('/auth/login').set(json).send({ email, password: PASSWORD }).expect(200)).body.accessToken);
    }
    [a, b] = tokens;
  });
  afterAll(() => app?.close());

  it('needs a token', async () => {
    await http.get('/<%= route %>').expect(401);
  });

  it("keeps A's <%= file %> away from B on every verb, and unchanged", async () => {
    const row = (await http.post('/<%= route %>').set(as(a)).set(json).send({ title: 'mine' }).expect(201)).body;
    expect(row.ownerId).toBeDefined();
    await http.get(`/<%= route %>/${row.id}`).set(as(b)).expect(404);
    await http.patch(`/<%= route %>/${row.id}`).set(as(b)).set(json).send({ title: 'pwned' }).expect(404);
    await http.delete(`/<%= route %>/${row.id}`).set(as(b)).expect(404);
    expect((await http.get('/<%= route %>').set(as(b)).expect(200)).body).toEqual([]);
    expect((await http.get(`/<%= route %>/${row.id}`).set(as(a)).expect(200)).body.title).toBe('mine');
  });

  it('refuses owner and id fields in bodies, ids in the query, and malformed ids', async () => {
    await http.post('/<%= route %>').set(as(a)).set(json).send({ title: 'x', ownerId: randomUUID() }).expect(400);
    await http.post('/<%= route %>').set(as(a)).set(json).send({ title: 'x', id: randomUUID() }).expect(400);
    await http.get(`/<%= route %>?ownerId=${randomUUID()}`).set(as(a)).expect(400);
    await http.get('/<%= route %>/not-a-uuid').set(as(a)).expect(400);
  });
});

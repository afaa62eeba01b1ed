import { type INestApplication } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { TokenService } from 'nestjs-zero-trust';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAuthzApp } from '../authz/authz-app.js';
import { PLATFORMS } from '../support/test-app.js';

const USER = '6f1b3c2e-8a4d-4e5f-9a6b-1c2d3e4f5a6b';

/** SQL statements TypeORM sends, counted through its logger (each one is a round trip to the database). */
class QueryCounter {
  queries: string[] = [];
  logQuery(query: string) {
    this.queries.push(query);
  }
  logQueryError() {}
  logQuerySlow() {}
  logSchemaBuild() {}
  logMigration() {}
  log() {}
}

describe.each(PLATFORMS)('the per-route plan (%s)', (platform) => {
  for (const rowLevelSecurity of [false, true]) {
    describe(`row-level security ${rowLevelSecurity ? 'on' : 'off'}`, () => {
      let app: INestApplication;
      let token: string;
      let projectId: string;
      const counter = new QueryCounter();

      beforeAll(async () => {
        ({ app } = await createAuthzApp(platform, { rowLevelSecurity: rowLevelSecurity && { identityKey: 'k'.repeat(32) } }, undefined, { logger: counter, logging: ['query'] }));
        token = app.get(TokenService).issueAccessToken({ subject: USER, scopes: ['audit:read'] }).accessToken;
        const created = await request(app.getHttpServer()).post('/projects').set('Authorization', `Bearer ${token}`).send({ name: 'p' }).expect(201);
        projectId = created.body.id;
        // Warm: the backend pid of the connection is asked once per connection, then never again.
        await request(app.getHttpServer()).get(`/projects/${projectId}`).set('Authorization', `Bearer ${token}`).expect(200);
      });

      afterAll(() => app.close());
      afterEach(() => vi.restoreAllMocks());

      it('asks the Reflector nothing per request: every route was planned at boot', async () => {
        const spies = (['get', 'getAll', 'getAllAndOverride', 'getAllAndMerge'] as const).map((method) => vi.spyOn(Reflector.prototype, method));
        const server = app.getHttpServer();
        const auth = { Authorization: `Bearer ${token}` };
        await request(server).get('/projects').set(auth).expect(200);
        await request(server).get(`/projects/${projectId}`).set(auth).expect(200);
        await request(server).get('/admin/audit').set(auth).expect(200);
        await request(server).get('/admin/editors').set(auth).expect(403);
        await request(server).get('/projects').expect(401);
        await request(server).get('/nowhere').set(auth).expect(404);
        expect(spies.reduce((sum, spy) => sum + spy.mock.calls.length, 0)).toBe(0);
      });

      it(`checks ownership in ${rowLevelSecurity ? 'one transaction shared with the handler (4 statements)' : 'one statement'}`, async () => {
        counter.queries = [];
        await request(app.getHttpServer()).get(`/projects/${projectId}`).set('Authorization', `Bearer ${token}`).expect(200);
        if (rowLevelSecurity) {
          // BEGIN with the read of the backend and the transaction's start the identity is bound to (one
          // message, no secret in it); the signed identity as a bound parameter (never in the SQL text); the
          // lookup; COMMIT. A change that adds a statement fails here.
          expect(counter.queries).toHaveLength(4);
          expect(counter.queries[0]).toMatch(/^START TRANSACTION; SELECT pg_backend_pid\(\) AS pid, extract\(epoch FROM now\(\)\)::text AS t$/);
          expect(counter.queries[1]).toMatch(/^SELECT set_config\('zero_trust.identity', \$1, true\)$/);
          expect(counter.queries[2]).toMatch(/^SELECT .* FROM "projects"/);
          expect(counter.queries[3]).toMatch(/COMMIT/);
        } else {
          expect(counter.queries).toHaveLength(1);
          expect(counter.queries[0]).toMatch(/^SELECT .* FROM "projects"/);
        }
      });

      it('rolls the transaction back when the ownership check denies', async () => {
        const other = app.get(TokenService).issueAccessToken({ subject: '0f1b3c2e-8a4d-4e5f-9a6b-1c2d3e4f5a6b' }).accessToken;
        counter.queries = [];
        await request(app.getHttpServer()).get(`/projects/${projectId}`).set('Authorization', `Bearer ${other}`).expect(404);
        if (rowLevelSecurity) expect(counter.queries.at(-1)).toMatch(/ROLLBACK/);
        else expect(counter.queries).toHaveLength(1);
      });

      it('commits the write of an owned route before it answers', async () => {
        counter.queries = [];
        await request(app.getHttpServer()).patch(`/projects/${projectId}`).set('Authorization', `Bearer ${token}`).send({ name: 'renamed' }).expect(200);
        if (rowLevelSecurity) {
          expect(counter.queries.filter((query) => /START TRANSACTION/.test(query))).toHaveLength(1);
          expect(counter.queries.at(-1)).toMatch(/COMMIT/);
        }
        const read = await request(app.getHttpServer()).get(`/projects/${projectId}`).set('Authorization', `Bearer ${token}`).expect(200);
        expect(read.body.name).toBe('renamed');
      });
    });
  }
});

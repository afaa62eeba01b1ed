/**
 * Issue 13, item 20: `OwnedRepository.repository` was a public field holding the unscoped TypeORM
 * repository, so `notes.repository.find()` read every owner's rows. It is now an ECMAScript private
 * field (`#repository`): not a property, not reachable through casts, reflection or serialization.
 * Item 14's library share is here too: paging values that SQL cannot take answer 400, not 500.
 */
import { BadRequestException, Controller, Get, type INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { DataSource, EntityManager, Repository } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Authenticated, Owned, OwnedRepository, TokenService } from 'nestjs-zero-trust';
import { PLATFORMS } from '../support/test-app.js';
import { createAuthzApp, Project } from '../authz/authz-app.js';

const A = randomUUID();
const B = randomUUID();

/** Everything reachable from `value` by property access, one level down the prototype chain included. */
function reachable(value: object): unknown[] {
  const seen: unknown[] = [];
  for (let target: object | null = value; target && target !== Object.prototype; target = Object.getPrototypeOf(target)) {
    for (const key of Reflect.ownKeys(target)) {
      const descriptor = Object.getOwnPropertyDescriptor(target, key)!;
      if ('value' in descriptor) seen.push(descriptor.value);
      else if (descriptor.get) seen.push(descriptor.get.call(value));
    }
  }
  return seen;
}

@Controller('escape')
class EscapeController {
  @Authenticated()
  @Get()
  async escape(@Owned(Project) projects: OwnedRepository<Project>) {
    const leaked = (projects as unknown as { repository?: Repository<Project> }).repository;
    return { leaked: leaked !== undefined, rows: leaked ? await leaked.find() : await projects.find() };
  }
}

describe.each(PLATFORMS)('13.20 OwnedRepository never hands out the unscoped repository (%s)', (platform) => {
  let app: INestApplication;
  let owned: OwnedRepository<Project>;

  beforeAll(async () => {
    ({ app } = await createAuthzApp(platform, {}, [EscapeController]));
    const db = app.get(DataSource);
    await db.query(`INSERT INTO projects ("ownerId", name) VALUES ($1, 'a'), ($2, 'b')`, [A, B]);
    owned = new OwnedRepository(db.getRepository(Project), A, 'ownerId', 100);
  });
  afterAll(() => app?.close());

  it('13.20: a handler reading `.repository` gets nothing and sees only its own rows', async () => {
    const token = app.get(TokenService).issueAccessToken({ subject: A }).accessToken;
    const response = await request(app.getHttpServer()).get('/escape').set('Authorization', `Bearer ${token}`).expect(200);
    expect(response.body.leaked).toBe(false);
    expect(response.body.rows.map((row: { ownerId: string }) => row.ownerId)).toEqual([A]);
  });

  it('13.20: no property, getter, symbol or serialization of the instance holds a repository, manager or DataSource', () => {
    expect((owned as unknown as Record<string, unknown>).repository).toBeUndefined();
    for (const value of reachable(owned)) {
      expect(value instanceof Repository || value instanceof EntityManager || value instanceof DataSource).toBe(false);
    }
    expect(JSON.stringify(owned)).not.toMatch(/manager|metadata|projects/i);
  });

  it('13.20: the scoped methods still work', async () => {
    expect((await owned.find()).map((row) => row.ownerId)).toEqual([A]);
    expect(await owned.count()).toBe(1);
  });

  it.each([
    ['skip', { skip: 1e21 }],
    ['skip', { skip: -1 }],
    ['skip', { skip: 1.5 }],
    ['skip', { skip: Number.NaN }],
    ['take', { take: Number.NaN }],
  ])('13.14: a %s SQL cannot take (%o) is a 400, not a database error', async (_name, options) => {
    await expect(owned.find(options)).rejects.toBeInstanceOf(BadRequestException);
  });

  it('13.14: an oversized take is capped, not refused', async () => {
    expect(await owned.find({ take: 1e21 })).toHaveLength(1);
  });
});

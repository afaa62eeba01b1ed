/**
 * Issue 13, item 15: `@Sensitive()` was honoured only on class instances, and only 16 levels deep. A
 * spread copy, `Object.assign({}, user)`, a raw row from `dataSource.query()`, a JSON round trip, a
 * `toJSON()` or a record nested 17 levels deep all sent the hash to the client. The secret values are
 * looked for in the raw response text: no shape may carry them.
 */
import { Controller, Get, type INestApplication, Module } from '@nestjs/common';
import { TypeOrmModule, type TypeOrmModuleOptions } from '@nestjs/typeorm';
import request from 'supertest';
import { Column, DataSource, Entity, PrimaryColumn } from 'typeorm';
import { PGliteDriver } from 'typeorm-pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Public, Sensitive, ZeroTrustModule } from 'nestjs-zero-trust';
import { bootstrapApp, PLATFORMS, type Platform } from '../support/test-app.js';

const PASSWORD_HASH = 'argon2id-secret-PASSWORD-HASH';
const API_KEY_HASH = 'secret-API-KEY-HASH';
const RESET_TOKEN = 'secret-RESET-TOKEN';
const SECRETS = [PASSWORD_HASH, API_KEY_HASH, RESET_TOKEN];

@Entity('accounts')
class Account {
  @PrimaryColumn('varchar')
  id!: string;

  @Column('varchar')
  email!: string;

  // Stored under TypeORM's default name for the property: raw rows say "passwordHash".
  @Sensitive()
  @Column('varchar')
  passwordHash!: string;

  // snake_case column: raw rows say "api_key_hash".
  @Sensitive()
  @Column('varchar', { name: 'api_key_hash' })
  apiKeyHash!: string;

  // A column name nothing could guess from the property: only the entity metadata knows it.
  @Sensitive()
  @Column('varchar', { name: 'rt' })
  resetToken!: string;
}

/** A view class that is no entity: its marked field is stripped by name from copies too. */
class SessionView {
  id = 's1';
  @Sensitive()
  refreshTokenHash = 'secret-REFRESH-HASH';
}

const nest = (value: unknown, levels: number): unknown => {
  let out = value;
  for (let i = 0; i < levels; i++) out = { level: out };
  return out;
};

@Controller('shapes')
class ShapesController {
  constructor(private readonly dataSource: DataSource) {}

  private account(): Promise<Account> {
    return this.dataSource.getRepository(Account).findOneByOrFail({ id: 'a1' });
  }

  @Public() @Get('instance') async instance() { return this.account(); }
  @Public() @Get('spread') async spread() { return { ...(await this.account()) }; }
  @Public() @Get('assign') async assign() { return Object.assign({}, await this.account()); }
  @Public() @Get('json') async json() { return JSON.parse(JSON.stringify(await this.account())); }
  @Public() @Get('raw') async raw() { return this.dataSource.query('SELECT * FROM accounts'); }
  @Public() @Get('raw-one') async rawOne() { return (await this.dataSource.query('SELECT * FROM accounts'))[0]; }
  @Public() @Get('to-json') async toJson() { const account = await this.account(); return { toJSON: () => ({ ...account }) }; }
  @Public() @Get('null-prototype') async nullPrototype() { return Object.assign(Object.create(null), await this.account()); }
  @Public() @Get('in-array') async inArray() { return [[{ users: [{ ...(await this.account()) }] }]]; }
  @Public() @Get('deep-17') async deep17() { return nest({ ...(await this.account()) }, 17); }
  @Public() @Get('deep-40') async deep40() { return nest({ ...(await this.account()) }, 40); }
  @Public() @Get('deep-200') async deep200() { return nest({ ...(await this.account()) }, 200); }
  @Public() @Get('view-copy') viewCopy() { return { ...new SessionView() }; }
  @Public() @Get('map-values') async mapValues() { return { byId: { a1: { ...(await this.account()) } } }; }

  @Public() @Get('plain') plain() {
    const created = new Date('2026-01-01T00:00:00Z');
    return { id: 'a1', email: 'a@example.com', created, tags: ['x'], nested: { ok: true } };
  }
}

async function createApp(platform: Platform): Promise<INestApplication> {
  @Module({
    imports: [
      ZeroTrustModule.forRoot({ issuer: 'https://issuer.test', audience: 'sensitive' }),
      TypeOrmModule.forRoot({ type: 'postgres', driver: new PGliteDriver().driver, entities: [Account], synchronize: true, retryAttempts: 0 } as TypeOrmModuleOptions),
    ],
    controllers: [ShapesController],
  })
  class SensitiveModule {}
  const app = await bootstrapApp(SensitiveModule, platform);
  await app.get(DataSource).getRepository(Account).insert({ id: 'a1', email: 'a@example.com', passwordHash: PASSWORD_HASH, apiKeyHash: API_KEY_HASH, resetToken: RESET_TOKEN });
  return app;
}

describe.each(PLATFORMS)('13.15 @Sensitive() fields never leave, whatever the shape (%s)', (platform) => {
  let app: INestApplication;
  beforeAll(async () => {
    app = await createApp(platform);
  });
  afterAll(() => app?.close());

  const expectNoSecret = (text: string) => {
    for (const secret of [...SECRETS, 'secret-REFRESH-HASH']) expect(text).not.toContain(secret);
  };

  it.each(['instance', 'spread', 'assign', 'json', 'raw', 'raw-one', 'to-json', 'null-prototype', 'in-array', 'deep-17', 'deep-40', 'map-values'])(
    '13.15: the %s shape keeps the record and drops its sensitive fields',
    async (shape) => {
      const response = await request(app.getHttpServer()).get(`/shapes/${shape}`).expect(200);
      expectNoSecret(response.text);
      // The rest of the record is still there.
      expect(response.text).toContain('a@example.com');
    },
  );

  it('13.15: a response nested deeper than the walk goes is refused, never sent unchecked', async () => {
    const response = await request(app.getHttpServer()).get('/shapes/deep-200');
    expect(response.status).toBe(500);
    expect(response.body).toEqual({ statusCode: 500, message: 'Internal server error', error: 'Internal Server Error' });
    expectNoSecret(response.text);
  });

  it('13.15: a field marked on a class that is no entity is dropped from copies of it', async () => {
    const response = await request(app.getHttpServer()).get('/shapes/view-copy').expect(200);
    expect(response.body).toEqual({ id: 's1' });
  });

  it('13.15: responses without sensitive fields are left as they were', async () => {
    const response = await request(app.getHttpServer()).get('/shapes/plain').expect(200);
    expect(response.body).toEqual({ id: 'a1', email: 'a@example.com', created: '2026-01-01T00:00:00.000Z', tags: ['x'], nested: { ok: true } });
  });
});

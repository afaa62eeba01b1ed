import 'reflect-metadata';
import { PGlite } from '@electric-sql/pglite';
import { Body, Controller, Get, type INestApplication, Module, Param, Patch } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { IsString } from 'class-validator';
import { randomBytes } from 'node:crypto';
import {
  Authenticated,
  exclusivePGliteDriver,
  LeastPrivilegeRoleMigration,
  OwnedResource,
  OwnsResource,
  RlsContext,
  RowLevelSecurity,
  TokenService,
  ZeroTrustModule,
} from 'nestjs-zero-trust';
import pg from 'pg';
import request from 'supertest';
import { Column, DataSource, type DataSourceOptions, Entity, PrimaryColumn } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requirePostgresUrl } from '../support/services.js';

@Entity('notes')
class Note {
  @PrimaryColumn('uuid') id!: string;
  @Column('uuid') ownerId!: string;
  @Column('varchar') title!: string;
}

class OwnerDto {
  @IsString() ownerId!: string;
}

/** Handlers that "forget" to filter by owner: the database must do it. */
@Controller('rls')
class CarelessController {
  @RowLevelSecurity()
  @Authenticated()
  @Get('all-notes')
  async all() {
    return (await RlsContext.manager()!.query('SELECT title FROM notes ORDER BY title')).map((row: { title: string }) => row.title);
  }

  @RowLevelSecurity()
  @Authenticated()
  @Patch(':id/owner')
  async give(@Param('id') id: string, @Body() dto: OwnerDto) {
    await RlsContext.manager()!.query('UPDATE notes SET "ownerId" = $1 WHERE id = $2', [dto.ownerId, id]);
    return { ok: true };
  }

  @OwnsResource(Note, { adminScope: 'notes:admin' })
  @Get('notes/:id')
  one(@OwnedResource() note: Note) {
    return note;
  }
}

const A = '00000000-0000-4000-8000-00000000000a';
const B = '00000000-0000-4000-8000-00000000000b';
const NOTE_A = '10000000-0000-4000-8000-00000000000a';
const NOTE_B = '10000000-0000-4000-8000-00000000000b';

const pgUrl = requirePostgresUrl();
process.env.ZT_TEST_RUNTIME_PASSWORD = `pw-${randomBytes(12).toString('hex')}`;
// The key that signs each request's identity: the migration stores it for the owner's functions, the module signs with it.
const IDENTITY_KEY = randomBytes(32).toString('base64');
process.env.ZT_RLS_IDENTITY_KEY = IDENTITY_KEY;

async function seed(admin: DataSource) {
  await admin.query(`INSERT INTO notes (id, "ownerId", title) VALUES ($1, $2, 'a-note'), ($3, $4, 'b-note')`, [NOTE_A, A, NOTE_B, B]);
}

type Setup = {
  dataSource: () => Promise<DataSourceOptions & { factory?: (o: DataSourceOptions) => Promise<DataSource> }>;
  close: () => Promise<void>;
  /** Rows as the table owner sees them (no policy). */
  ownerView: (sql: string) => Promise<unknown[]>;
};

const engines: Array<[string, boolean, () => Promise<Setup>]> = [
  [
    'PGlite (one session, exclusive driver, SET ROLE)',
    false,
    async () => {
      const suffix = randomBytes(5).toString('hex');
      const migration = class LeastPrivilege1732000300000 extends LeastPrivilegeRoleMigration({
        ownerRole: `zt_owner_${suffix}`, runtimeRole: `zt_app_${suffix}`, allowPasswordless: true, runtimePasswordEnv: 'ZT_UNSET_PASSWORD',
        rowLevelSecurity: [{ entity: Note, adminScope: 'notes:admin' }],
      }) {};
      let ds: DataSource;
      return {
        dataSource: async () => ({
          type: 'postgres',
          driver: exclusivePGliteDriver(await PGlite.create()),
          entities: [Note],
          synchronize: true,
          migrations: [migration],
          factory: async (options) => {
            ds = await new DataSource(options).initialize();
            await ds.runMigrations();
            await seed(ds);
            await ds.query(`SET ROLE zt_app_${suffix}`);
            return ds;
          },
        }),
        ownerView: async (sql) => {
          // One session: step out of the runtime role for the check, then back in.
          await ds.query('RESET ROLE');
          try {
            return await ds.query(sql);
          } finally {
            await ds.query(`SET ROLE zt_app_${suffix}`);
          }
        },
        close: async () => undefined,
      };
    },
  ],
  [
    'PostgreSQL (runtime-role connection)',
    !pgUrl,
    async () => {
      const suffix = randomBytes(5).toString('hex');
      const database = `zt_rls_${suffix}`;
      const root = new pg.Client({ connectionString: pgUrl });
      await root.connect();
      await root.query(`CREATE DATABASE ${database}`);
      const url = new URL(pgUrl!);
      url.pathname = `/${database}`;
      const migration = class LeastPrivilege1732000300000 extends LeastPrivilegeRoleMigration({
        ownerRole: `zt_owner_${suffix}`, runtimeRole: `zt_app_${suffix}`, runtimePasswordEnv: 'ZT_TEST_RUNTIME_PASSWORD',
        rowLevelSecurity: [{ entity: Note, adminScope: 'notes:admin' }],
      }) {};
      const admin = await new DataSource({ type: 'postgres', url: url.toString(), entities: [Note], synchronize: true, migrations: [migration] }).initialize();
      await admin.runMigrations();
      await seed(admin);
      const runtimeUrl = new URL(url);
      runtimeUrl.username = `zt_app_${suffix}`;
      runtimeUrl.password = process.env.ZT_TEST_RUNTIME_PASSWORD!;
      return {
        dataSource: async () => ({ type: 'postgres', url: runtimeUrl.toString(), entities: [Note] }),
        ownerView: (sql) => admin.query(sql),
        close: async () => {
          await admin.destroy();
          await root.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
          for (const role of [`zt_app_${suffix}`, `zt_owner_${suffix}`]) await root.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
          await root.end();
        },
      };
    },
  ],
];

describe.each(engines)('row-level security per request on %s', (_name, skip, create) => {
  let setup: Setup;
  let app: INestApplication;
  let tokenA: string;
  let tokenB: string;
  let tokenAdmin: string;

  beforeAll(async () => {
    if (skip) return;
    setup = await create();
    const options = await setup.dataSource();
    @Module({
      imports: [
        ZeroTrustModule.forRoot({ issuer: 'https://issuer.test', audience: 'rls', rowLevelSecurity: { identityKey: IDENTITY_KEY }, auditSinks: [] }),
        TypeOrmModule.forRootAsync({
          useFactory: () => ({ ...options, retryAttempts: 0 }),
          dataSourceFactory: options.factory ? (o) => options.factory!(o as DataSourceOptions) : undefined,
        }),
      ],
      controllers: [CarelessController],
    })
    class RlsModule {}
    app = await NestFactory.create(RlsModule, { logger: false, abortOnError: false });
    await app.init();
    const tokens = app.get(TokenService);
    tokenA = tokens.issueAccessToken({ subject: A }).accessToken;
    tokenB = tokens.issueAccessToken({ subject: B }).accessToken;
    tokenAdmin = tokens.issueAccessToken({ subject: '00000000-0000-4000-8000-0000000000ad', scopes: ['notes:admin'] }).accessToken;
  });
  afterAll(async () => {
    await app?.close();
    await setup?.close();
  });

  const get = (path: string, token: string) => request(app.getHttpServer()).get(path).set('Authorization', `Bearer ${token}`);

  it.skipIf(skip)('a deliberately unscoped query returns only the caller\'s rows', async () => {
    expect((await get('/rls/all-notes', tokenA).expect(200)).body).toEqual(['a-note']);
    expect((await get('/rls/all-notes', tokenB).expect(200)).body).toEqual(['b-note']);
  });

  it.skipIf(skip)('keeps concurrent requests of different users apart', async () => {
    const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => get('/rls/all-notes', i % 2 ? tokenA : tokenB)));
    responses.forEach((response, i) => expect(response.body).toEqual([i % 2 ? 'a-note' : 'b-note']));
  });

  it.skipIf(skip)('refuses to hand a row to another owner (WITH CHECK), and to touch another\'s row', async () => {
    await request(app.getHttpServer()).patch(`/rls/${NOTE_A}/owner`).set('Authorization', `Bearer ${tokenA}`).set('Content-Type', 'application/json').send({ ownerId: B }).expect(403);
    await request(app.getHttpServer()).patch(`/rls/${NOTE_B}/owner`).set('Authorization', `Bearer ${tokenA}`).set('Content-Type', 'application/json').send({ ownerId: A }).expect(200);
    // A's note still A's; B's note untouched (the UPDATE matched no row A may see).
    expect(await setup.ownerView(`SELECT id, "ownerId" FROM notes ORDER BY id`)).toEqual([
      { id: NOTE_A, ownerId: A },
      { id: NOTE_B, ownerId: B },
    ]);
  });

  it.skipIf(skip)('runs @OwnsResource lookups under the policy too, with the explicit admin scope', async () => {
    await get(`/rls/notes/${NOTE_A}`, tokenA).expect(200);
    await get(`/rls/notes/${NOTE_B}`, tokenA).expect(404);
    await get(`/rls/notes/${NOTE_B}`, tokenAdmin).expect(200);
  });
});

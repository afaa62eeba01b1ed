/**
 * Attack: the ownership check of AuthorizationGuard opens the request's row-level-security transaction
 * (a pooled connection, BEGIN, set_config) and leaves it open for RowLevelSecurityInterceptor to commit.
 * Any guard that runs AFTER the global AuthorizationGuard (a route-level @UseGuards, an app-level
 * APP_GUARD registered after the module) can refuse the request: then no interceptor runs, nobody ends
 * the transaction, and its connection stays checked out "idle in transaction" forever. A handful of
 * such requests exhausts the pool and every later database query of the whole app hangs.
 *
 * Real PostgreSQL, pool of 2 connections.
 */
import 'reflect-metadata';
import { Body, type CanActivate, Controller, Get, Injectable, type INestApplication, Module, Patch, UseGuards } from '@nestjs/common';
import { IsString, MaxLength } from 'class-validator';
import { TypeOrmModule } from '@nestjs/typeorm';
import { randomBytes } from 'node:crypto';
import { OwnedResource, OwnsResource, TokenService, ZeroTrustModule } from 'nestjs-zero-trust';
import pg from 'pg';
import request from 'supertest';
import { Column, Entity, PrimaryColumn } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapApp, PLATFORMS } from '../support/test-app.js';

const PG_URL = process.env.ZT_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const OWNER = '00000000-0000-4000-8000-00000000000a';
const NOTE = '10000000-0000-4000-8000-00000000000a';

@Entity('review_notes')
class ReviewNote {
  @PrimaryColumn('uuid') id!: string;
  @Column('uuid') ownerId!: string;
  @Column('varchar') title!: string;
}

/** Stands for any route-level guard that can say no: a feature flag, a CSRF check, a custom policy. */
@Injectable()
class FeatureFlagGuard implements CanActivate {
  canActivate(): boolean {
    return false;
  }
}

class RenameDto {
  @IsString() @MaxLength(20) title!: string;
}

@Controller('notes')
class NotesController {
  @OwnsResource(ReviewNote)
  @Patch(':id')
  rename(@OwnedResource() note: ReviewNote, @Body() dto: RenameDto) {
    return { ...note, title: dto.title };
  }

  @OwnsResource(ReviewNote)
  @UseGuards(FeatureFlagGuard)
  @Get(':id/beta')
  beta(@OwnedResource() note: ReviewNote) {
    return note;
  }

  @OwnsResource(ReviewNote)
  @Get(':id')
  one(@OwnedResource() note: ReviewNote) {
    return note;
  }
}

describe.each(PLATFORMS)('row-level-security transaction after a later guard denies (%s)', (platform) => {
  const database = `zt_review_${randomBytes(5).toString('hex')}`;
  const root = new pg.Client({ connectionString: PG_URL });
  let app: INestApplication;
  let token: string;

  const idleInTransaction = async () =>
    Number(
      (
        await root.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND state = 'idle in transaction'`, [database])
      ).rows[0].n,
    );

  beforeAll(async () => {
    await root.connect();
    await root.query(`CREATE DATABASE ${database}`);
    const url = new URL(PG_URL);
    url.pathname = `/${database}`;
    @Module({
      imports: [
        ZeroTrustModule.forRoot({ issuer: 'https://issuer.test', audience: 'review', rowLevelSecurity: { identityKey: 'review-identity-key-of-32-bytes!!' }, databasePrivileges: 'off', auditSinks: [] }),
        TypeOrmModule.forRoot({
          type: 'postgres',
          url: url.toString(),
          entities: [ReviewNote],
          synchronize: true,
          retryAttempts: 0,
          // A small pool, as a small service would have; a checkout waits at most 2 s.
          extra: { max: 2, connectionTimeoutMillis: 2000 },
        }),
      ],
      controllers: [NotesController],
      providers: [FeatureFlagGuard],
    })
    class LeakModule {}
    app = await bootstrapApp(LeakModule, platform);
    const seed = new pg.Client({ connectionString: url.toString() });
    await seed.connect();
    await seed.query(`INSERT INTO review_notes (id, "ownerId", title) VALUES ($1, $2, 'mine')`, [NOTE, OWNER]);
    await seed.end();
    token = app.get(TokenService).issueAccessToken({ subject: OWNER }).accessToken;
  });

  afterAll(async () => {
    await app?.close();
    await root.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await root.end();
  });

  it('control: a validation 400 after the ownership check rolls the transaction back (the interceptor runs)', async () => {
    const server = app.getHttpServer();
    const auth = { Authorization: `Bearer ${token}` };
    for (let i = 0; i < 3; i++) await request(server).patch(`/notes/${NOTE}`).set(auth).send({ title: 42 }).expect(400);
    expect(await idleInTransaction()).toBe(0);
    await request(server).get(`/notes/${NOTE}`).set(auth).expect(200);
  });

  it('ends the transaction opened by the ownership check when a route-level guard refuses, so the pool survives', async () => {
    const server = app.getHttpServer();
    const auth = { Authorization: `Bearer ${token}` };
    // The owner passes the ownership check; the route's own guard then refuses (403).
    for (let i = 0; i < 2; i++) await request(server).get(`/notes/${NOTE}/beta`).set(auth).expect(403);
    // Give a well-behaved implementation time to roll back on response close.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await idleInTransaction()).toBe(0);
    // The app must still be able to reach its database (with the leak: 500 after the 2 s pool checkout timeout).
    await request(server).get(`/notes/${NOTE}`).set(auth).expect(200);
  });
});

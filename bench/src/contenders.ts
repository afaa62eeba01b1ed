import { PGlite } from '@electric-sql/pglite';
import { Controller, Get, type INestApplication, Module, NotFoundException, Param, ParseUUIDPipe, Req, ValidationPipe } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { AuthGuard, PassportModule, PassportStrategy } from '@nestjs/passport';
import { ThrottlerGuard, ThrottlerModule } from '@nestjs/throttler';
import { InjectRepository, TypeOrmModule } from '@nestjs/typeorm';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import {
  exclusivePGliteDriver,
  OwnedResource,
  OwnsResource,
  SessionService,
  typeOrmAuditSink,
  ZeroTrustAuditLog1732000200000,
  ZeroTrustModule,
  ZeroTrustSessions1732000100000,
} from 'nestjs-zero-trust';
import { ExtractJwt, Strategy as JwtStrategy } from 'passport-jwt';
import jwt from 'jsonwebtoken';
import { DataSource, type Repository } from 'typeorm';
import { Note } from './note.entity.js';

export type Contender = 'bare' | 'hand-built' | 'zero-trust';
export type Platform = 'express' | 'fastify';
export const OWNER = '00000000-0000-4000-8000-0000000000aa';
const HS_SECRET = 'a string secret as the docs show, long enough to pass review';

async function database() {
  return {
    type: 'postgres' as const,
    driver: exclusivePGliteDriver(await PGlite.create()),
    entities: [Note],
    synchronize: true,
    migrations: [ZeroTrustSessions1732000100000, ZeroTrustAuditLog1732000200000],
    migrationsRun: true,
  };
}

/** (a) The same DB-backed handler with no security at all. */
@Controller('notes')
class BareController {
  constructor(@InjectRepository(Note) private readonly notes: Repository<Note>) {}
  @Get(':id')
  async get(@Param('id') id: string) {
    const note = await this.notes.findOneBy({ id });
    if (!note) throw new NotFoundException();
    return note;
  }
}

/** (b) What the Nest docs teach, assembled by hand: helmet, AuthGuard('jwt') with a string secret, ThrottlerGuard, ValidationPipe, ownership in the handler. */
class HandJwtStrategy extends PassportStrategy(JwtStrategy) {
  constructor() {
    super({ jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(), secretOrKey: HS_SECRET, algorithms: ['HS256'] });
  }
  validate(payload: { sub: string }) {
    return { userId: payload.sub };
  }
}

@Controller('notes')
class HandBuiltController {
  constructor(@InjectRepository(Note) private readonly notes: Repository<Note>) {}
  @Get(':id')
  async get(@Param('id', ParseUUIDPipe) id: string, @Req() request: { user: { userId: string } }) {
    const note = await this.notes.findOneBy({ id });
    if (!note || note.ownerId !== request.user.userId) throw new NotFoundException();
    return note;
  }
}

/** (c) nestjs-zero-trust with everything on. */
@Controller('notes')
class ZeroTrustController {
  @OwnsResource(Note)
  @Get(':id')
  get(@OwnedResource() note: Note) {
    return note;
  }
}

export async function createContender(contender: Contender, platform: Platform): Promise<{ app: INestApplication; token: string; noteId: string }> {
  const db = await database();
  const imports: unknown[] = [TypeOrmModule.forRoot(db), TypeOrmModule.forFeature([Note])];
  const providers: unknown[] = [];
  let controller: new (...args: never[]) => object = BareController;
  if (contender === 'hand-built') {
    imports.push(PassportModule, ThrottlerModule.forRoot([{ ttl: 60_000, limit: 1e9 }]));
    providers.push(HandJwtStrategy, { provide: APP_GUARD, useClass: AuthGuard('jwt') }, { provide: APP_GUARD, useClass: ThrottlerGuard });
    controller = HandBuiltController;
  }
  if (contender === 'zero-trust') {
    imports.push(
      ZeroTrustModule.forRootAsync({
        inject: [DataSource],
        useFactory: (dataSource: DataSource) => ({
          issuer: 'https://bench.test',
          audience: 'bench',
          keys: [{ kid: 'k1', alg: 'ES256', privateKey: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey }],
          sessions: {},
          throttle: { default: { limit: 1e9, window: 60 } },
          auditSinks: [typeOrmAuditSink(dataSource)],
          databasePrivileges: 'off',
        }),
      }),
    );
    controller = ZeroTrustController;
  }
  @Module({ imports: imports as never[], controllers: [controller], providers: providers as never[] })
  class BenchModule {}

  let app: INestApplication;
  if (platform === 'fastify') {
    const { FastifyAdapter } = await import('@nestjs/platform-fastify');
    app = await NestFactory.create(BenchModule, new FastifyAdapter(), { logger: false });
    if (contender === 'hand-built') await (app as unknown as { register(p: unknown): Promise<void> }).register((await import('@fastify/helmet')).default);
  } else {
    app = await NestFactory.create(BenchModule, { logger: false });
    if (contender === 'hand-built') app.use((await import('helmet')).default());
  }
  if (contender === 'hand-built') app.useGlobalPipes(new ValidationPipe({ whitelist: true, transform: true }));
  await app.init();

  const dataSource = app.get(DataSource);
  const noteId = randomUUID();
  await dataSource.query(`INSERT INTO notes (id, "ownerId", title, body) SELECT gen_random_uuid(), gen_random_uuid(), 'n', 'b' FROM generate_series(1, 999)`);
  await dataSource.query(`INSERT INTO notes (id, "ownerId", title, body) VALUES ($1, $2, 'mine', 'the note being fetched')`, [noteId, OWNER]);
  let token = '';
  if (contender === 'hand-built') token = jwt.sign({ sub: OWNER }, HS_SECRET, { algorithm: 'HS256', expiresIn: 3600 });
  if (contender === 'zero-trust') token = (await app.get(SessionService).create(OWNER)).accessToken;
  return { app, token, noteId };
}

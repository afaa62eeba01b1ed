import { PGlite } from '@electric-sql/pglite';
import { Controller, Get, type INestApplication, Module, NotFoundException, Param, ParseUUIDPipe, Req, ValidationPipe } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { AuthGuard, PassportModule, PassportStrategy } from '@nestjs/passport';
import { ThrottlerGuard, ThrottlerModule } from '@nestjs/throttler';
import { InjectRepository, TypeOrmModule, type TypeOrmModuleOptions } from '@nestjs/typeorm';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import * as zeroTrust from 'nestjs-zero-trust';
import {
  exclusivePGliteDriver,
  LeastPrivilegeRoleMigration,
  OwnedResource,
  OwnsResource,
  SessionService,
  typeOrmAuditSink,
  ZeroTrustModule,
} from 'nestjs-zero-trust';
import { ExtractJwt, Strategy as JwtStrategy } from 'passport-jwt';
import jwt from 'jsonwebtoken';
import { DataSource, type DataSourceOptions, type Logger, type Repository } from 'typeorm';
import { Note } from './note.entity.js';

export type Contender = 'bare' | 'hand-built' | 'zero-trust' | 'zero-trust-rls';
export type Platform = 'express' | 'fastify';
export type Database = 'pglite' | 'postgres';
export const CONTENDERS: Contender[] = ['bare', 'hand-built', 'zero-trust', 'zero-trust-rls'];
export const OWNER = '00000000-0000-4000-8000-0000000000aa';
export const NOTE_ID = '10000000-0000-4000-8000-0000000000aa';
export const ROWS = 1000;
const HS_SECRET = 'a string secret as the docs show, long enough to pass review';

/**
 * Where a contender's process finds its database (environment, set by run.ts):
 * - pglite: an in-memory PGlite of its own, seeded at boot (the RLS contender runs the least-privilege
 *   migration and then serves as the runtime role with SET ROLE, as the tests do);
 * - postgres: BENCH_PG_URL (plain table) or BENCH_PG_RLS_URL (forced RLS), both as the runtime role,
 *   prepared and seeded by run.ts (postgres-setup.ts).
 */
export interface ContenderSpec {
  contender: Contender;
  platform: Platform;
  database: Database;
}

/** Counts the SQL round trips TypeORM makes (every `query()` call is one), without keeping the text. */
export class RoundTripCounter implements Logger {
  count = 0;
  logQuery() {
    this.count++;
  }
  logQueryError() {}
  logQuerySlow() {}
  logSchemaBuild() {}
  logMigration() {}
  log() {}
}

/** Every migration the package exports (sessions, their later additions, the audit log), in timestamp order. */
export const MODULE_MIGRATIONS = Object.entries(zeroTrust)
  .filter(([name, value]) => /^ZeroTrust\w+\d{13}$/.test(name) && typeof value === 'function')
  .sort(([a], [b]) => a.slice(-13).localeCompare(b.slice(-13)))
  .map(([, value]) => value as new () => object);

export const seedSql = [
  `INSERT INTO notes (id, "ownerId", title, body) SELECT gen_random_uuid(), gen_random_uuid(), 'n', 'b' FROM generate_series(1, ${ROWS - 1})`,
  `INSERT INTO notes (id, "ownerId", title, body) VALUES ('${NOTE_ID}', '${OWNER}', 'mine', 'the note being fetched')`,
  'ANALYZE notes',
];

/** The least-privilege migration with (for the RLS contender) forced row-level security on `notes`. */
export function leastPrivilege(suffix: string, rls: boolean, passwordless: boolean) {
  return class LeastPrivilege1732000300000 extends LeastPrivilegeRoleMigration({
    ownerRole: `zt_bench_owner_${suffix}`,
    runtimeRole: `zt_bench_app_${suffix}`,
    runtimePasswordEnv: 'BENCH_RUNTIME_PASSWORD',
    allowPasswordless: passwordless,
    appendOnly: ['zt_audit_log'],
    rowLevelSecurity: rls ? [{ entity: Note }] : [],
  }) {};
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

/** (c, d) nestjs-zero-trust with everything on (and, for d, row-level security). */
@Controller('notes')
class ZeroTrustController {
  @OwnsResource(Note)
  @Get(':id')
  get(@OwnedResource() note: Note) {
    return note;
  }
}

async function dataSourceOptions(spec: ContenderSpec, logger: RoundTripCounter): Promise<TypeOrmModuleOptions & { factory?: (o: DataSourceOptions) => Promise<DataSource> }> {
  const common = { entities: [Note], logger, logging: ['query' as const], retryAttempts: 0 };
  if (spec.database === 'postgres') {
    const url = spec.contender === 'zero-trust-rls' ? process.env.BENCH_PG_RLS_URL : process.env.BENCH_PG_URL;
    if (!url) throw new Error('BENCH_PG_URL / BENCH_PG_RLS_URL not set (run.ts sets them)');
    // application_name lets run.ts find this contender's backends and read their CPU time.
    // Idle connections stay open: pg closes them after 10 s by default, and a contender waiting for its turn
    // would then pay new connections (and their authentication) inside its timed window.
    return { ...common, type: 'postgres', url, applicationName: `zt-bench-${spec.contender}-${spec.platform}`, extra: { idleTimeoutMillis: 0 } };
  }
  const rls = spec.contender === 'zero-trust-rls';
  const suffix = randomUUID().slice(0, 8);
  return {
    ...common,
    type: 'postgres',
    driver: exclusivePGliteDriver(await PGlite.create()),
    synchronize: true,
    migrations: [...MODULE_MIGRATIONS, ...(rls ? [leastPrivilege(suffix, true, true)] : [])],
    factory: async (options) => {
      const dataSource = await new DataSource(options).initialize();
      logger.count = 0;
      await dataSource.runMigrations();
      for (const sql of seedSql) await dataSource.query(sql);
      // PGlite is one session: serve as the runtime role, so the forced policy applies.
      if (rls) await dataSource.query(`SET ROLE zt_bench_app_${suffix}`);
      return dataSource;
    },
  };
}

export async function createContender(spec: ContenderSpec, counter: RoundTripCounter): Promise<{ app: INestApplication; token: string }> {
  const { contender, platform, database } = spec;
  const { factory, ...options } = await dataSourceOptions(spec, counter);
  const imports: unknown[] = [
    TypeOrmModule.forRootAsync({ useFactory: () => options, dataSourceFactory: factory ? (o) => factory(o as DataSourceOptions) : undefined }),
    TypeOrmModule.forFeature([Note]),
  ];
  const providers: unknown[] = [];
  let controller: new (...args: never[]) => object = BareController;
  if (contender === 'hand-built') {
    imports.push(PassportModule, ThrottlerModule.forRoot([{ ttl: 60_000, limit: 1e9 }]));
    providers.push(HandJwtStrategy, { provide: APP_GUARD, useClass: AuthGuard('jwt') }, { provide: APP_GUARD, useClass: ThrottlerGuard });
    controller = HandBuiltController;
  }
  if (contender === 'zero-trust' || contender === 'zero-trust-rls') {
    imports.push(
      ZeroTrustModule.forRootAsync({
        inject: [DataSource],
        useFactory: (dataSource: DataSource) => ({
          issuer: 'https://bench.test',
          audience: 'bench',
          keys: [{ kid: 'k1', alg: 'ES256', privateKey: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey }],
          // A group of rounds can outlast the default 900 s lifetime; the token is issued once at boot.
          accessTokenTtl: 3600,
          maxTokenLifetime: 3600,
          sessions: {},
          throttle: { default: { limit: 1e9, window: 60 } },
          auditSinks: [typeOrmAuditSink(dataSource)],
          // PGlite serves as its superuser (except under RLS): the boot check would refuse it in production.
          databasePrivileges: database === 'postgres' ? 'check' : 'off',
          ...(contender === 'zero-trust-rls' ? { rowLevelSecurity: { identityKey: process.env.ZT_RLS_IDENTITY_KEY! } } : {}),
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

  let token = '';
  if (contender === 'hand-built') token = jwt.sign({ sub: OWNER }, HS_SECRET, { algorithm: 'HS256', expiresIn: 3600 });
  if (contender === 'zero-trust' || contender === 'zero-trust-rls') token = (await app.get(SessionService).create(OWNER)).accessToken;
  return { app, token };
}

import 'reflect-metadata';
import { PGlite } from '@electric-sql/pglite';
import { type CanActivate, Controller, type DynamicModule, Injectable, type INestApplication, type INestMicroservice, Module, UseGuards } from '@nestjs/common';
import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { NestFactory } from '@nestjs/core';
import { Args, Field, GraphQLModule, ID, Mutation, ObjectType, Query, Resolver } from '@nestjs/graphql';
import { MercuriusDriver, type MercuriusDriverConfig } from '@nestjs/mercurius';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { TypeOrmModule } from '@nestjs/typeorm';
import { MessageBody, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { IsOptional, IsString, IsUUID, MaxLength } from 'class-validator';
import {
  Authenticated,
  exclusivePGliteDriver,
  LeastPrivilegeRoleMigration,
  Owned,
  OwnedRepository,
  OwnedResource,
  OwnsResource,
  RlsContext,
  RowLevelSecurity,
  Scopes,
  zeroTrustGraphql,
  zeroTrustWebSocketAdapter,
  ZeroTrustModule,
} from 'nestjs-zero-trust';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Column, DataSource, type DataSourceOptions, Entity, PrimaryColumn } from 'typeorm';
import { NatsServer } from '../../sample/src/worker/nats.transport.js';
import { CaptureAuditSink } from '../support/capture-audit.sink.js';
import { bootstrapApp, type Platform } from '../support/test-app.js';

/** A table under the database's forced owner policy: the runtime role sees a row only under its owner's signed identity. */
@Entity('rls_transport_notes')
@ObjectType('RlsNote')
export class RlsNote {
  @PrimaryColumn('uuid')
  @Field(() => ID)
  id!: string;

  @Column('varchar')
  @Field()
  ownerId!: string;

  @Column('varchar')
  @Field()
  title!: string;
}

/** Stands for any guard that runs after the module's and can say no (a feature flag, a tenant check). */
@Injectable()
export class RefusingGuard implements CanActivate {
  canActivate(): boolean {
    return false;
  }
}

/** Handler bodies that ran: a refused call must run none. */
export const rlsCalls = { guarded: 0 };

const TITLES = 'SELECT title FROM rls_transport_notes ORDER BY title';

@Resolver(() => RlsNote)
export class RlsNotesResolver {
  @OwnsResource(RlsNote)
  @Query(() => RlsNote, { nullable: true })
  note(@Args('id', { type: () => ID }) _id: string, @OwnedResource() note: RlsNote) {
    return note;
  }

  @Authenticated()
  @Query(() => [RlsNote])
  notes(@Owned(RlsNote) notes: OwnedRepository<RlsNote>) {
    return notes.find({ order: { title: 'ASC' } });
  }

  /** Forgets to filter by owner: only the database's policy keeps other owners' rows out. */
  @RowLevelSecurity()
  @Authenticated()
  @Query(() => [String])
  async allTitles() {
    return (await RlsContext.manager()!.query(TITLES)).map((row: { title: string }) => row.title);
  }

  @OwnsResource(RlsNote)
  @Mutation(() => RlsNote, { nullable: true })
  renameNote(@Args('id', { type: () => ID }) _id: string, @Args('title') title: string, @Owned(RlsNote) notes: OwnedRepository<RlsNote>, @OwnedResource() note: RlsNote) {
    return notes.update(note.id, { title });
  }

  /** Writes B's row through a query that forgets the owner: the policy must make it touch nothing. */
  @RowLevelSecurity()
  @Authenticated()
  @Mutation(() => Number)
  async retitleAny(@Args('id', { type: () => ID }) id: string, @Args('title') title: string) {
    const [, affected] = (await RlsContext.manager()!.query('UPDATE rls_transport_notes SET title = $1 WHERE id = $2', [title, id])) as [unknown, number];
    return affected;
  }

  /** Writes, then fails: the write must be rolled back. */
  @RowLevelSecurity()
  @Authenticated()
  @Mutation(() => Number)
  async retitleThenFail(@Args('id', { type: () => ID }) id: string, @Args('title') title: string): Promise<number> {
    await RlsContext.manager()!.query('UPDATE rls_transport_notes SET title = $1 WHERE id = $2', [title, id]);
    throw new Error('failed after writing');
  }

  @OwnsResource(RlsNote)
  @UseGuards(RefusingGuard)
  @Query(() => RlsNote, { nullable: true })
  guardedNote(@Args('id', { type: () => ID }) _id: string, @OwnedResource() note: RlsNote) {
    rlsCalls.guarded++;
    return note;
  }
}

export class NoteMessage {
  @IsUUID()
  id!: string;

  @IsOptional()
  @IsString()
  @MaxLength(100)
  title?: string;
}

@WebSocketGateway()
export class RlsNotesGateway {
  @OwnsResource(RlsNote)
  @SubscribeMessage('note')
  note(@MessageBody() _body: NoteMessage, @OwnedResource() note: RlsNote) {
    return { event: 'note', data: note.title };
  }

  @Authenticated()
  @SubscribeMessage('notes')
  async notes(@Owned(RlsNote) notes: OwnedRepository<RlsNote>) {
    return { event: 'notes', data: (await notes.find({ order: { title: 'ASC' } })).map((note) => note.title) };
  }

  @RowLevelSecurity()
  @Authenticated()
  @SubscribeMessage('allTitles')
  async allTitles() {
    return { event: 'allTitles', data: (await RlsContext.manager()!.query(TITLES)).map((row: { title: string }) => row.title) };
  }

  @OwnsResource(RlsNote)
  @SubscribeMessage('rename')
  async rename(@MessageBody() body: NoteMessage, @OwnedResource() note: RlsNote, @Owned(RlsNote) notes: OwnedRepository<RlsNote>) {
    return { event: 'renamed', data: (await notes.update(note.id, { title: body.title }))?.title ?? null };
  }

  @OwnsResource(RlsNote)
  @UseGuards(RefusingGuard)
  @SubscribeMessage('guarded')
  guarded(@MessageBody() _body: NoteMessage, @OwnedResource() note: RlsNote) {
    rlsCalls.guarded++;
    return { event: 'guarded', data: note.title };
  }
}

/** The NATS worker's handlers, under a subject prefix of the test's own. */
export function rlsWorkerController(subject: string) {
  @Controller()
  class RlsWorkerController {
    @Scopes('notes:index')
    @MessagePattern(`${subject}.notes`)
    async notes(@Owned(RlsNote) notes: OwnedRepository<RlsNote>) {
      return (await notes.find({ order: { title: 'ASC' } })).map((note) => note.title);
    }

    @RowLevelSecurity()
    @Scopes('notes:index')
    @MessagePattern(`${subject}.allTitles`)
    async allTitles() {
      return (await RlsContext.manager()!.query(TITLES)).map((row: { title: string }) => row.title);
    }

    @OwnsResource(RlsNote)
    @MessagePattern(`${subject}.note`)
    note(@Payload() _body: NoteMessage, @OwnedResource() note: RlsNote) {
      return note.title;
    }

    @OwnsResource(RlsNote)
    @MessagePattern(`${subject}.rename`)
    async rename(@Payload() body: NoteMessage, @OwnedResource() note: RlsNote, @Owned(RlsNote) notes: OwnedRepository<RlsNote>) {
      return (await notes.update(note.id, { title: body.title }))?.title ?? null;
    }

    @OwnsResource(RlsNote)
    @UseGuards(RefusingGuard)
    @MessagePattern(`${subject}.guarded`)
    guarded(@Payload() _body: NoteMessage, @OwnedResource() note: RlsNote) {
      rlsCalls.guarded++;
      return note.title;
    }
  }
  return RlsWorkerController;
}

type Row = { id: string; ownerId: string; title: string };

/**
 * A database of the test's own, set up by the least-privilege migration with the owner policy forced on
 * `rls_transport_notes`. The app serves as the runtime role; `ownerView` reads as the table's owner.
 */
export interface RlsDatabase {
  readonly identityKey: string;
  /** The app's TypeORM module, connected as the runtime role. */
  typeOrm(): DynamicModule;
  /** Rows as the table's owner sees them (no policy applies). */
  ownerView(): Promise<Row[]>;
  /** Before the app starts. */
  seed(rows: Row[]): Promise<void>;
  /** Connections of this database left inside a transaction while no call runs: leaked ones. */
  idleInTransaction(): Promise<number>;
  drop(): Promise<void>;
}

function leastPrivilege(suffix: string, env: { key: string; password: string }) {
  return class LeastPrivilege1732000300000 extends LeastPrivilegeRoleMigration({
    ownerRole: `zt_owner_${suffix}`,
    runtimeRole: `zt_app_${suffix}`,
    runtimePasswordEnv: env.password,
    allowPasswordless: () => !process.env[env.password],
    identityKeyEnv: env.key,
    rowLevelSecurity: [{ entity: RlsNote }],
  }) {};
}

const INSERT = `INSERT INTO rls_transport_notes (id, "ownerId", title) VALUES ($1, $2, $3)`;
const OWNER_VIEW = `SELECT id, "ownerId", title FROM rls_transport_notes ORDER BY title`;
/** A pool smaller than a batch of fields: 100 parallel resolutions must queue for it, never hold two connections each. */
const POOL = { max: 4, connectionTimeoutMillis: 5000 };

/** On the PostgreSQL server: a database, an owner and a runtime role of the test's own. */
export async function createRlsDatabase(pgUrl: string): Promise<RlsDatabase> {
  const suffix = randomBytes(5).toString('hex');
  const name = `zt_rls_transports_${suffix}`;
  const identityKey = randomBytes(32).toString('base64');
  const password = `pw-${randomBytes(12).toString('hex')}`;
  const env = { key: `ZT_RLS_TRANSPORTS_KEY_${suffix}`, password: `ZT_RLS_TRANSPORTS_PASSWORD_${suffix}` };
  process.env[env.key] = identityKey;
  process.env[env.password] = password;
  const root = new pg.Client({ connectionString: pgUrl });
  await root.connect();
  await root.query(`CREATE DATABASE ${name}`);
  const url = new URL(pgUrl);
  url.pathname = `/${name}`;
  const admin = await new DataSource({ type: 'postgres', url: url.toString(), entities: [RlsNote], synchronize: true, migrations: [leastPrivilege(suffix, env)] }).initialize();
  await admin.runMigrations();
  const runtimeUrl = new URL(url);
  runtimeUrl.username = `zt_app_${suffix}`;
  runtimeUrl.password = password;
  return {
    identityKey,
    typeOrm: () => TypeOrmModule.forRoot({ type: 'postgres', url: runtimeUrl.toString(), entities: [RlsNote], retryAttempts: 0, extra: POOL }),
    ownerView: () => admin.query(OWNER_VIEW),
    seed: async (rows) => {
      for (const row of rows) await admin.query(INSERT, [row.id, row.ownerId, row.title]);
    },
    idleInTransaction: async () =>
      Number((await root.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND state LIKE 'idle in transaction%'`, [name])).rows[0].n),
    drop: async () => {
      await admin.destroy();
      await root.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      for (const role of [`zt_app_${suffix}`, `zt_owner_${suffix}`]) await root.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
      await root.end();
      delete process.env[env.key];
      delete process.env[env.password];
    },
  };
}

/**
 * On PGlite: one session, shared through the exclusive driver (one checkout at a time), switched to the
 * runtime role with SET ROLE once migrated and seeded as the owner.
 */
export async function createRlsPGliteDatabase(): Promise<RlsDatabase> {
  const suffix = randomBytes(5).toString('hex');
  const identityKey = randomBytes(32).toString('base64');
  const env = { key: `ZT_RLS_TRANSPORTS_KEY_${suffix}`, password: `ZT_RLS_TRANSPORTS_UNSET_${suffix}` };
  process.env[env.key] = identityKey;
  const pglite = await PGlite.create();
  const seeded: Row[] = [];
  let dataSource: DataSource | undefined;
  /** As the owner, on one checkout: no call of the app can run between RESET ROLE and SET ROLE. */
  const asOwner = async <T>(work: (query: (sql: string, parameters?: unknown[]) => Promise<T>) => Promise<T>): Promise<T> => {
    const runner = dataSource!.createQueryRunner();
    await runner.connect();
    try {
      await runner.query('RESET ROLE');
      return await work((sql, parameters) => runner.query(sql, parameters));
    } finally {
      await runner.query(`SET ROLE zt_app_${suffix}`);
      await runner.release();
    }
  };
  return {
    identityKey,
    typeOrm: () =>
      TypeOrmModule.forRootAsync({
        useFactory: () => ({ type: 'postgres', driver: exclusivePGliteDriver(pglite), entities: [RlsNote], synchronize: true, migrations: [leastPrivilege(suffix, env)], retryAttempts: 0 }),
        dataSourceFactory: async (options) => {
          dataSource = await new DataSource(options as DataSourceOptions).initialize();
          await dataSource.runMigrations();
          for (const row of seeded) await dataSource.query(INSERT, [row.id, row.ownerId, row.title]);
          await dataSource.query(`SET ROLE zt_app_${suffix}`);
          return dataSource;
        },
      }),
    ownerView: () => asOwner((query) => query(OWNER_VIEW)) as Promise<Row[]>,
    seed: async (rows) => {
      seeded.push(...rows);
    },
    // PGlite has one backend, this test's: a transaction still open between calls is a leaked one.
    idleInTransaction: async () => (pglite.isInTransaction() ? 1 : 0),
    drop: async () => {
      // The exclusive driver closes it with the app's DataSource.
      if (!pglite.closed) await pglite.close();
      delete process.env[env.key];
    },
  };
}

const ISSUER = 'https://issuer.test';

/** What the apps' audit sinks received: a refusal's reason tells the ownership check's "not found" from other failures. */
export const rlsAudit = new CaptureAuditSink();

function modules(database: RlsDatabase, options: { audience: string; keys?: unknown[] }) {
  return [
    ZeroTrustModule.forRoot({
      issuer: ISSUER,
      audience: options.audience,
      rowLevelSecurity: { identityKey: database.identityKey },
      auditSinks: [rlsAudit],
      anomalyRules: false,
      throttle: { default: { limit: 10_000, window: 60 } },
      ...(options.keys ? { keys: options.keys as never } : {}),
    }),
    database.typeOrm(),
  ];
}

export async function createRlsGraphqlApp(platform: Platform, database: RlsDatabase): Promise<INestApplication> {
  const driver = platform === 'express' ? 'apollo' : 'mercurius';
  const limits = { maxAliases: 100, maxCost: 100_000, maxTokens: 5000 };
  const graphql =
    driver === 'apollo'
      ? GraphQLModule.forRootAsync<ApolloDriverConfig>({
          driver: ApolloDriver,
          useFactory: async () => ({ autoSchemaFile: true, ...(await zeroTrustGraphql({ driver, ...limits })) }),
        })
      : GraphQLModule.forRootAsync<MercuriusDriverConfig>({
          driver: MercuriusDriver,
          useFactory: async () => ({ autoSchemaFile: true, ...(await zeroTrustGraphql({ driver, ...limits })) }),
        });
  @Module({ imports: [...modules(database, { audience: 'rls-gql' }), graphql], providers: [RlsNotesResolver, RefusingGuard] })
  class RlsGraphqlModule {}
  return bootstrapApp(RlsGraphqlModule, platform);
}

export const WS_ORIGIN = 'https://app.test';

export async function createRlsWebSocketApp(database: RlsDatabase): Promise<{ app: INestApplication; url: string }> {
  @Module({ imports: modules(database, { audience: 'rls-ws' }), providers: [RlsNotesGateway, RefusingGuard] })
  class RlsWebSocketModule {}
  const app = await NestFactory.create(RlsWebSocketModule, { logger: false, abortOnError: false });
  app.useWebSocketAdapter(await zeroTrustWebSocketAdapter(app, { library: 'ws', allowedOrigins: [WS_ORIGIN] }));
  await app.listen(0, '127.0.0.1');
  return { app, url: `127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}` };
}

export async function createRlsWorker(database: RlsDatabase, natsUrl: string, subject: string, publicKey: string): Promise<INestMicroservice> {
  @Module({
    imports: modules(database, { audience: 'rls-worker', keys: [{ kid: 'api-1', alg: 'ES256', publicKey }] }),
    controllers: [rlsWorkerController(subject)],
    providers: [RefusingGuard],
  })
  class RlsWorkerModule {}
  const worker = await NestFactory.createMicroservice(RlsWorkerModule, { strategy: new NatsServer({ servers: natsUrl }), logger: false });
  await worker.listen();
  return worker;
}

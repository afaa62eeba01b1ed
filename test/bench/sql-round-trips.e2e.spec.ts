import 'reflect-metadata';
import { PGlite } from '@electric-sql/pglite';
import { Controller, Get, type INestApplication, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { randomBytes } from 'node:crypto';
import {
  Authenticated,
  exclusivePGliteDriver,
  LeastPrivilegeRoleMigration,
  ManualClock,
  Owned,
  OwnedRepository,
  OwnedResource,
  OwnsResource,
  SessionService,
  ZeroTrustModule,
} from 'nestjs-zero-trust';
import request from 'supertest';
import { Column, DataSource, type DataSourceOptions, Entity, Index, PrimaryColumn } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapApp, PLATFORMS } from '../support/test-app.js';

/*
 * SQL round trips per request, counted where they happen: every call into PGlite (`query` or `exec`)
 * is one trip to the database, whatever TypeORM's logger says. Issue 16 asks for at most 3 on an
 * owned GET by id with row-level security on; these counts are asserted exactly, so a change that
 * adds a round trip fails here and a change that removes one updates the figure on purpose.
 */
const ROUND_TRIPS = {
  ownedGet: 1,
  ownedList: 1,
  // START TRANSACTION with the read of the pid and transaction start (one message, no secret in it),
  // set_config(signed identity) as a bound parameter, SELECT, COMMIT. Issue 16's target is 3; see the
  // README ("Benchmarks") for why the bound parameter cannot share BEGIN's message without pipelining.
  ownedGetWithRls: 4,
  ownedListWithRls: 4,
};

@Entity('notes')
class Note {
  @PrimaryColumn('uuid') id!: string;
  @Index() @Column('uuid') ownerId!: string;
  @Column('varchar') title!: string;
}

@Controller('notes')
class NotesController {
  @Authenticated()
  @Get()
  list(@Owned(Note) notes: OwnedRepository<Note>) {
    return notes.find({ order: { title: 'ASC' } });
  }

  @OwnsResource(Note)
  @Get(':id')
  get(@OwnedResource() note: Note) {
    return note;
  }
}

/** Every migration the sessions feature ships (the session service refuses to boot without them all). */
const SESSION_MIGRATIONS = Object.values(import.meta.glob<Record<string, unknown>>('../../lib/sessions/*.migration.ts', { eager: true }))
  .flatMap((module) => Object.entries(module))
  .filter(([name, value]) => /\d{13}$/.test(name) && typeof value === 'function')
  .sort(([a], [b]) => a.slice(-13).localeCompare(b.slice(-13)))
  .map(([, value]) => value as new () => object);

const OWNER = '00000000-0000-4000-8000-0000000000aa';
const NOTE = '10000000-0000-4000-8000-0000000000aa';
const IDENTITY_KEY = randomBytes(32).toString('base64');
process.env.ZT_RLS_IDENTITY_KEY = IDENTITY_KEY;

/** A PGlite whose every call is counted: each one is a round trip. */
function countedPGlite(db: PGlite) {
  const counted = {
    roundTrips: 0,
    statements: [] as string[],
    query: (sql: string, params?: unknown[]) => {
      counted.roundTrips++;
      counted.statements.push(sql);
      return db.query(sql, params);
    },
    exec: (sql: string) => {
      counted.roundTrips++;
      counted.statements.push(sql);
      return db.exec(sql);
    },
    close: () => db.close(),
  };
  return counted;
}

describe.each(PLATFORMS)('SQL round trips per request (%s, PGlite)', (platform) => {
  for (const rowLevelSecurity of [false, true]) {
    describe(`row-level security ${rowLevelSecurity ? 'on' : 'off'}`, () => {
      let app: INestApplication;
      let db: ReturnType<typeof countedPGlite>;
      let token: string;
      const clock = new ManualClock();

      beforeAll(async () => {
        db = countedPGlite(await PGlite.create());
        const suffix = randomBytes(4).toString('hex');
        const migrations: Array<new () => object> = [...SESSION_MIGRATIONS];
        if (rowLevelSecurity) {
          migrations.push(
            class LeastPrivilege1732000300000 extends LeastPrivilegeRoleMigration({
              ownerRole: `zt_rt_owner_${suffix}`, runtimeRole: `zt_rt_app_${suffix}`, allowPasswordless: true, runtimePasswordEnv: 'ZT_UNSET_PASSWORD',
              rowLevelSecurity: [{ entity: Note }],
            }) {},
          );
        }
        @Module({
          imports: [
            ZeroTrustModule.forRoot({
              issuer: 'https://issuer.test',
              audience: 'round-trips',
              sessions: {},
              clock,
              auditSinks: [],
              databasePrivileges: 'off',
              ...(rowLevelSecurity ? { rowLevelSecurity: { identityKey: IDENTITY_KEY } } : {}),
            }),
            TypeOrmModule.forRootAsync({
              useFactory: () => ({ type: 'postgres', driver: exclusivePGliteDriver(db), entities: [Note], synchronize: true, migrations, retryAttempts: 0 }),
              dataSourceFactory: async (options) => {
                const dataSource = await new DataSource(options as DataSourceOptions).initialize();
                await dataSource.runMigrations();
                await dataSource.query(`INSERT INTO notes (id, "ownerId", title) VALUES ($1, $2, 'mine')`, [NOTE, OWNER]);
                await dataSource.query(`INSERT INTO notes (id, "ownerId", title) SELECT gen_random_uuid(), gen_random_uuid(), 'other' FROM generate_series(1, 100)`);
                // PGlite is one session: serve as the runtime role, so the forced policy applies.
                if (rowLevelSecurity) await dataSource.query(`SET ROLE zt_rt_app_${suffix}`);
                return dataSource;
              },
            }),
          ],
          controllers: [NotesController],
        })
        class RoundTripModule {}
        app = await bootstrapApp(RoundTripModule, platform);
        token = (await app.get(SessionService).create(OWNER)).accessToken;
        // Warm: the session's liveness is cached (the clock does not move), the connection's backend pid is known.
        await request(app.getHttpServer()).get(`/notes/${NOTE}`).set('Authorization', `Bearer ${token}`).expect(200);
        await request(app.getHttpServer()).get('/notes').set('Authorization', `Bearer ${token}`).expect(200);
      });

      afterAll(() => app?.close());

      async function roundTripsOf(path: string): Promise<{ roundTrips: number; statements: string[]; body: unknown }> {
        db.roundTrips = 0;
        db.statements = [];
        const response = await request(app.getHttpServer()).get(path).set('Authorization', `Bearer ${token}`).expect(200);
        return { roundTrips: db.roundTrips, statements: db.statements, body: response.body };
      }

      it(`an owned GET by id costs ${rowLevelSecurity ? ROUND_TRIPS.ownedGetWithRls : ROUND_TRIPS.ownedGet} round trip(s)`, async () => {
        const { roundTrips, statements, body } = await roundTripsOf(`/notes/${NOTE}`);
        expect(body).toMatchObject({ id: NOTE, ownerId: OWNER });
        expect(roundTrips, statements.join('\n')).toBe(rowLevelSecurity ? ROUND_TRIPS.ownedGetWithRls : ROUND_TRIPS.ownedGet);
        expect(statements.filter((sql) => /FROM "notes"/.test(sql)), 'the record is loaded once, by the ownership check').toHaveLength(1);
      });

      it(`a list through OwnedRepository costs ${rowLevelSecurity ? ROUND_TRIPS.ownedListWithRls : ROUND_TRIPS.ownedList} round trip(s)`, async () => {
        const { roundTrips, statements, body } = await roundTripsOf('/notes');
        expect(body).toEqual([{ id: NOTE, ownerId: OWNER, title: 'mine' }]);
        expect(roundTrips, statements.join('\n')).toBe(rowLevelSecurity ? ROUND_TRIPS.ownedListWithRls : ROUND_TRIPS.ownedList);
      });

      it('checks the session again, in one more round trip, once its cached liveness expires', async () => {
        clock.advance(1_001);
        const { roundTrips, statements } = await roundTripsOf(`/notes/${NOTE}`);
        expect(roundTrips, statements.join('\n')).toBe((rowLevelSecurity ? ROUND_TRIPS.ownedGetWithRls : ROUND_TRIPS.ownedGet) + 1);
        expect(statements.filter((sql) => /zt_sessions/.test(sql))).toHaveLength(1);
      });
    });
  }
});

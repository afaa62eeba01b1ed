/**
 * Issue 18: the least-privilege role migration writes secrets into the database: the runtime role's
 * SCRAM verifier (offline-crackable: a dictionary attack needs nothing else) and the row-level-security
 * identity key (whoever holds it signs any identity). TypeORM hands every statement and its parameters
 * to the DataSource's logger (`logging: true`, 'all' or ['query'] print them; ['error'] prints a failed
 * one, `maxQueryExecutionTime` a slow one) and to every subscriber. Here a logger and a subscriber record
 * everything TypeORM shows them while the migration runs, on PostgreSQL and on PGlite, and none of it
 * may carry the password, the verifier or the key; nor may the error of a failed run.
 */
import 'reflect-metadata';
import { PGlite } from '@electric-sql/pglite';
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { exclusivePGliteDriver, LeastPrivilegeRoleMigration, scramSha256Verifier } from 'nestjs-zero-trust';
import pg from 'pg';
import {
  type AfterQueryEvent,
  type BeforeQueryEvent,
  Column,
  DataSource,
  type DataSourceOptions,
  Entity,
  type EntitySubscriberInterface,
  EventSubscriber,
  type Logger,
  PrimaryColumn,
} from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requirePasswords } from './password-auth.js';
import { startPrivatePostgres } from './private-postgres.js';

@Entity('log_notes')
class LogNote {
  @PrimaryColumn('uuid') id!: string;
  @Column('uuid') ownerId!: string;
}

const PASSWORD_ENV = 'ZT_TEST_LOG_RUNTIME_PASSWORD';
const KEY_ENV = 'ZT_TEST_LOG_RLS_KEY';
const PASSWORD = `pw-${randomBytes(12).toString('hex')}`;
const KEY = randomBytes(36).toString('base64');
Object.assign(process.env, { [PASSWORD_ENV]: PASSWORD, [KEY_ENV]: KEY });

/** Everything TypeORM showed its logger and its subscribers, as text (parameters and buffers included). */
const recorded: string[] = [];
const show = (value: unknown) => (typeof value === 'string' ? value : `${inspect(value, { depth: 6 })} ${JSON.stringify(value) ?? ''}`);
const record = (...values: unknown[]) => recorded.push(values.map(show).join(' '));

class RecordingLogger implements Logger {
  logQuery(query: string, parameters?: unknown) {
    record('query', query, parameters);
  }
  logQueryError(error: unknown, query: string, parameters?: unknown) {
    record('query error', error, query, parameters);
  }
  logQuerySlow(time: number, query: string, parameters?: unknown) {
    record('slow', query, parameters);
  }
  logSchemaBuild(message: string) {
    record('schema', message);
  }
  logMigration(message: string) {
    record('migration', message);
  }
  log(level: string, message: unknown) {
    record(level, message);
  }
}

@EventSubscriber()
class QueryWatcher implements EntitySubscriberInterface {
  beforeQuery(event: BeforeQueryEvent) {
    record('before', event.query, event.parameters);
  }
  afterQuery(event: AfterQueryEvent) {
    record('after', event.query, event.parameters, event.error);
  }
}

/** The secrets in every form a log could show them: as given, the key's bytes in hex, and the verifier's prefix. */
function secretsIn(text: string, verifier?: string): string[] {
  const secrets = [PASSWORD, KEY, Buffer.from(KEY, 'utf8').toString('hex'), 'SCRAM-SHA-256$', ...(verifier ? [verifier, verifier.split('$')[2]] : [])];
  return secrets.filter((secret) => text.includes(secret));
}

interface Harness {
  dataSource: DataSource;
  runtimeRole: string;
  /** The runtime role logs in with a password (PostgreSQL only: PGlite has no logins). */
  login?: (password: string) => Promise<string>;
  close(): Promise<void>;
}

function migrationFor(suffix: string) {
  return class LeastPrivilege1732000300000 extends LeastPrivilegeRoleMigration({
    ownerRole: `zt_log_owner_${suffix}`,
    runtimeRole: `zt_log_app_${suffix}`,
    runtimePasswordEnv: PASSWORD_ENV,
    identityKeyEnv: KEY_ENV,
    rowLevelSecurity: [{ entity: LogNote }],
  }) {};
}

const common = (suffix: string) => ({
  type: 'postgres' as const,
  entities: [LogNote],
  subscribers: [QueryWatcher],
  migrations: [migrationFor(suffix)],
  synchronize: true,
  logging: 'all' as const,
  logger: new RecordingLogger(),
});

const harnesses: Array<[string, () => Promise<Harness>]> = [
  [
    'PostgreSQL',
    async () => {
      // A server of the test's own that checks passwords (the shared one may trust local logins, where
      // any password logs in): the runtime role must log in with the password, and not without it.
      const server = await startPrivatePostgres();
      await requirePasswords(server);
      const suffix = randomBytes(5).toString('hex');
      const database = `zt_log_${suffix}`;
      const root = new pg.Client({ connectionString: server.url() });
      await root.connect();
      await root.query(`CREATE DATABASE ${database}`);
      await root.end();
      const dataSource = await new DataSource({ ...common(suffix), url: server.url({ database }) } as DataSourceOptions).initialize();
      return {
        dataSource,
        runtimeRole: `zt_log_app_${suffix}`,
        login: async (password: string) => {
          const client = new pg.Client({ connectionString: server.url({ user: `zt_log_app_${suffix}`, password, database }) });
          await client.connect();
          try {
            return (await client.query('SELECT current_user AS who')).rows[0].who;
          } finally {
            await client.end();
          }
        },
        close: async () => {
          try {
            await dataSource.destroy();
          } finally {
            server.stop();
          }
        },
      };
    },
  ],
  [
    'PGlite',
    async () => {
      const suffix = randomBytes(5).toString('hex');
      const dataSource = await new DataSource({ ...common(suffix), driver: exclusivePGliteDriver(await PGlite.create(), { durability: 'relaxed' }) } as DataSourceOptions).initialize();
      return { dataSource, runtimeRole: `zt_log_app_${suffix}`, close: () => dataSource.destroy() };
    },
  ],
];

describe.each(harnesses)('the role migration keeps its secrets out of the query log on %s', (_name, create) => {
  let h: Harness;
  let verifier: string;
  beforeAll(async () => {
    h = await create();
    recorded.length = 0;
    await h.dataSource.runMigrations();
    [{ verifier }] = await h.dataSource.query(`SELECT rolpassword AS verifier FROM pg_authid WHERE rolname = $1`, [h.runtimeRole]);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('records the migration\'s statements (the logger sees them) but never the password, the verifier or the key', () => {
    expect(verifier).toMatch(/^SCRAM-SHA-256\$4096:/);
    const log = recorded.join('\n');
    // The logger is wired: it saw the migration's other statements, and their parameters.
    expect(log).toContain('REVOKE CREATE ON SCHEMA');
    expect(log).toContain('ENABLE ROW LEVEL SECURITY');
    expect(secretsIn(log, verifier)).toEqual([]);
  });

  it('still gives the runtime role the password (on PostgreSQL it logs in with it)', async () => {
    const [, iterations, salt] = verifier.split(/[$:]/);
    expect(scramSha256Verifier(PASSWORD, Number(iterations), Buffer.from(salt, 'base64'))).toBe(verifier);
    // PGlite has no logins (one embedded session): the stored verifier is what a login would check.
    if (h.login) {
      expect(await h.login(PASSWORD)).toBe(h.runtimeRole);
      await expect(h.login(`${PASSWORD}x`)).rejects.toMatchObject({ code: '28P01' });
    }
  });

  it('shows the secrets neither in the log nor in the error when a statement that carries one fails', async () => {
    // The key table in a shape the key cannot go into: the statement that stores the key fails.
    await h.dataSource.query(`ALTER TABLE public.zt_rls_identity_key ALTER COLUMN key TYPE integer USING 0`);
    recorded.length = 0;
    const Migration = h.dataSource.migrations[0].constructor as new () => { up(queryRunner: unknown): Promise<void> };
    const queryRunner = h.dataSource.createQueryRunner();
    let failure: unknown;
    await queryRunner.startTransaction();
    try {
      await new Migration().up(queryRunner);
    } catch (error) {
      failure = error;
    } finally {
      await queryRunner.rollbackTransaction();
      await queryRunner.release();
    }
    expect(failure).toBeInstanceOf(Error);
    const everything = `${show(failure)}\n${(failure as Error).stack}\n${recorded.join('\n')}`;
    expect(everything).toContain('REVOKE CREATE ON SCHEMA');
    expect(secretsIn(everything, verifier)).toEqual([]);
    // What failed, and PostgreSQL's reason, are still told.
    expect((failure as Error).message).toMatch(/row-level-security identity key.*column "key" is of type integer/);
  });
});

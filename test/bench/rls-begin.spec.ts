import 'reflect-metadata';
import { PGlite } from '@electric-sql/pglite';
import { randomBytes } from 'node:crypto';
import { exclusivePGliteDriver } from 'nestjs-zero-trust';
import { DataSource, type DataSourceOptions, type Logger } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RlsIdentity } from '../../lib/database/rls-identity.js';

/*
 * RlsIdentity.begin() sends BEGIN and the read of the backend pid and transaction start in one message,
 * then the signed identity as a bound parameter: two round trips. What it must keep: the value is bound
 * to the transaction that BEGIN opened (not to a stale pid or start), it never appears in a statement's
 * text, and where TypeORM must speak right after BEGIN (an isolation level) or the runner is already in a
 * transaction (a savepoint), it falls back to reading the binding with a statement of its own.
 */
const principal = { ownerId: '00000000-0000-4000-8000-0000000000aa', issuer: 'https://issuer.test', scopes: ['notes:read'] } as never;

class Statements implements Logger {
  sql: string[] = [];
  parameters: unknown[][] = [];
  logQuery(query: string, parameters?: unknown[]) {
    this.sql.push(query);
    this.parameters.push(parameters ?? []);
  }
  logQueryError() {}
  logQuerySlow() {}
  logSchemaBuild() {}
  logMigration() {}
  log() {}
}

describe('RlsIdentity.begin', () => {
  const identity = new RlsIdentity(randomBytes(32));
  const logger = new Statements();
  let plain: DataSource;
  let serializable: DataSource;

  beforeAll(async () => {
    // One PGlite each: destroying a DataSource closes its database.
    const options = async () => ({ type: 'postgres', driver: exclusivePGliteDriver(await PGlite.create()), entities: [], logger, logging: ['query'] }) as DataSourceOptions;
    plain = await new DataSource(await options()).initialize();
    serializable = await new DataSource({ ...(await options()), isolationLevel: 'SERIALIZABLE' } as DataSourceOptions).initialize();
  });

  afterAll(async () => {
    await plain?.destroy();
    await serializable?.destroy();
  });

  async function inBegun(dataSource: DataSource, before?: (runner: ReturnType<DataSource['createQueryRunner']>) => Promise<void>) {
    const runner = dataSource.createQueryRunner();
    await runner.connect();
    await before?.(runner);
    logger.sql = [];
    logger.parameters = [];
    await identity.begin(runner, principal, Date.now());
    const statements = [...logger.sql];
    const [row] = (await runner.query(
      `SELECT current_setting('zero_trust.identity') AS value, pg_backend_pid() AS pid, extract(epoch FROM now())::text AS t`,
    )) as Array<{ value: string; pid: number; t: string }>;
    await runner.rollbackTransaction();
    if (runner.isTransactionActive) await runner.rollbackTransaction();
    await runner.release();
    const claims = JSON.parse(Buffer.from(row.value.split('.')[0], 'hex').toString('utf8')) as { p: number; t: string; s: string };
    return { statements, claims, row, value: row.value };
  }

  it('opens the transaction and reads its binding in one message, then sets the identity as a bound parameter', async () => {
    const { statements, claims, row, value } = await inBegun(plain);
    expect(statements).toEqual([
      'START TRANSACTION; SELECT pg_backend_pid() AS pid, extract(epoch FROM now())::text AS t',
      "SELECT set_config('zero_trust.identity', $1, true)",
    ]);
    // Bound to the transaction BEGIN opened: its backend and its start, as the owner's function checks.
    expect({ p: claims.p, t: claims.t, s: claims.s }).toEqual({ p: Number(row.pid), t: row.t, s: '00000000-0000-4000-8000-0000000000aa' });
    // The signed value is only ever a parameter, never in the text of a statement.
    expect(statements.some((sql) => sql.includes(value.split('.')[1]))).toBe(false);
    expect(logger.parameters.flat()).toContain(value);
  });

  it('two transactions of one connection carry different starts (a value of the first is refused in the second)', async () => {
    const first = await inBegun(plain);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = await inBegun(plain);
    expect(second.claims.p).toBe(first.claims.p);
    expect(second.claims.t).not.toBe(first.claims.t);
  });

  it('with an isolation level, lets TypeORM set it right after BEGIN and reads the binding on its own', async () => {
    const { statements, claims, row } = await inBegun(serializable);
    expect(statements).toEqual([
      'START TRANSACTION',
      'SET TRANSACTION ISOLATION LEVEL SERIALIZABLE',
      'SELECT pg_backend_pid() AS pid, extract(epoch FROM now())::text AS t',
      "SELECT set_config('zero_trust.identity', $1, true)",
    ]);
    expect({ p: claims.p, t: claims.t }).toEqual({ p: Number(row.pid), t: row.t });
  });

  it('inside an open transaction (a savepoint), reads the binding of that transaction', async () => {
    const { statements, claims, row } = await inBegun(plain, (runner) => runner.startTransaction());
    expect(statements).toEqual([
      'SAVEPOINT typeorm_1',
      'SELECT pg_backend_pid() AS pid, extract(epoch FROM now())::text AS t',
      "SELECT set_config('zero_trust.identity', $1, true)",
    ]);
    expect({ p: claims.p, t: claims.t }).toEqual({ p: Number(row.pid), t: row.t });
  });

  it('leaves the runner as TypeORM expects: its own query() again, the transaction known to be open', async () => {
    const runner = plain.createQueryRunner();
    await runner.connect();
    await identity.begin(runner, principal, Date.now());
    expect(Object.prototype.hasOwnProperty.call(runner, 'query')).toBe(false);
    expect(runner.isTransactionActive).toBe(true);
    await runner.commitTransaction();
    expect(runner.isTransactionActive).toBe(false);
    await runner.release();
  });
});

/**
 * Review 13: the signed row-level-security identity is inlined into the SQL text by RlsIdentity.begin()
 * ("START TRANSACTION; SELECT set_config('zero_trust.identity', '<payload>.<mac>', true)"). Every
 * connection of the app runs as the same runtime role, and PostgreSQL shows a role its own sessions'
 * query text in pg_stat_activity. So SQL injected through the app (the threat model of the signed
 * identity) reads another request's signed identity, an admin's included, and replays it on that
 * backend in a later transaction for 300 s: the pid check passes, the expiry too.
 */
import 'reflect-metadata';
import { randomBytes, randomUUID } from 'node:crypto';
import { LeastPrivilegeRoleMigration } from 'nestjs-zero-trust';
import pg from 'pg';
import { Column, DataSource, Entity, PrimaryColumn } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RlsIdentity } from '../../lib/database/rls-identity.js';

const pgUrl = process.env.ZT_TEST_PG_URL;
if (!pgUrl) throw new Error('ZT_TEST_PG_URL must be set for this review test');

const IDENTITY_KEY = randomBytes(32).toString('base64');
process.env.ZT_REVIEW13_RLS_KEY = IDENTITY_KEY;
process.env.ZT_REVIEW13_RUNTIME_PASSWORD = `pw-${randomBytes(12).toString('hex')}`;

@Entity('notes')
class Note {
  @PrimaryColumn('uuid') id!: string;
  @Column('uuid') ownerId!: string;
  @Column('varchar') title!: string;
}

const ADMIN = randomUUID();
const VICTIM = randomUUID();
const ATTACKER = randomUUID();

describe('review13: the signed RLS identity on PostgreSQL', () => {
  const suffix = randomBytes(5).toString('hex');
  const database = `zt_r13_${suffix}`;
  let root: pg.Client;
  let admin: DataSource;
  let app: DataSource; // the app's runtime pool: one backend, so a later request lands on it
  let injected: pg.Client; // another backend of the same runtime role: where the injected SQL runs
  const identity = new RlsIdentity(Buffer.from(IDENTITY_KEY, 'utf8'));

  beforeAll(async () => {
    root = new pg.Client({ connectionString: pgUrl });
    await root.connect();
    await root.query(`CREATE DATABASE ${database}`);
    const url = new URL(pgUrl!);
    url.pathname = `/${database}`;
    const migration = class LeastPrivilege1732000300000 extends LeastPrivilegeRoleMigration({
      ownerRole: `zt_r13_owner_${suffix}`,
      runtimeRole: `zt_r13_app_${suffix}`,
      runtimePasswordEnv: 'ZT_REVIEW13_RUNTIME_PASSWORD',
      entities: [Note],
      rowLevelSecurity: [{ entity: Note, adminScope: 'notes:admin' }],
      identityKeyEnv: 'ZT_REVIEW13_RLS_KEY',
    }) {};
    admin = await new DataSource({ type: 'postgres', url: url.toString(), entities: [Note], synchronize: true, migrations: [migration] }).initialize();
    await admin.runMigrations();
    await admin.query(`INSERT INTO notes (id, "ownerId", title) VALUES (gen_random_uuid(), $1, 'victim secret'), (gen_random_uuid(), $2, 'admin note'), (gen_random_uuid(), $3, 'mine')`, [
      VICTIM,
      ADMIN,
      ATTACKER,
    ]);
    const runtimeUrl = new URL(url);
    runtimeUrl.username = `zt_r13_app_${suffix}`;
    runtimeUrl.password = process.env.ZT_REVIEW13_RUNTIME_PASSWORD!;
    app = await new DataSource({ type: 'postgres', url: runtimeUrl.toString(), entities: [Note], extra: { max: 1 } }).initialize();
    injected = new pg.Client({ connectionString: runtimeUrl.toString() });
    await injected.connect();
  });

  afterAll(async () => {
    await injected?.end().catch(() => undefined);
    await app?.destroy().catch(() => undefined);
    await admin?.destroy().catch(() => undefined);
    await root.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined);
    for (const role of [`zt_r13_app_${suffix}`, `zt_r13_owner_${suffix}`]) await root.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
    await root.end();
  });

  it("another request's signed identity is not readable by the runtime role, and cannot be replayed in a later transaction of that backend", async () => {
    // 1. An admin's request opens its RLS transaction exactly as the module does (RlsIdentity.begin).
    const adminRequest = app.createQueryRunner();
    await adminRequest.connect();
    await identity.begin(adminRequest, { ownerId: ADMIN, issuer: 'https://api.test', scopes: ['notes:admin'] } as never, Date.now());
    // 2. Meanwhile SQL injected through another request (another backend, same runtime role) looks around.
    const { rows } = await injected.query<{ pid: number; query: string }>(
      `SELECT pid, query FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND query LIKE '%zero_trust.identity%'`,
    );
    const leaked = rows.map((row) => /'([0-9a-f]+\.[0-9a-f]{64})'/.exec(row.query)?.[1]).find(Boolean);
    await adminRequest.commitTransaction();
    await adminRequest.release();

    // 3. A later request of the attacker lands on that backend (a pool of one here; any pool in time) and
    //    its injected SQL sets the leaked value for its own transaction.
    const attackerRequest = app.createQueryRunner();
    await attackerRequest.connect();
    await identity.begin(attackerRequest, { ownerId: ATTACKER, issuer: 'https://api.test', scopes: [] } as never, Date.now());
    const own = (await attackerRequest.query(`SELECT title FROM notes ORDER BY title`)) as Array<{ title: string }>;
    let stolen: Array<{ title: string }> = [];
    if (leaked) {
      await attackerRequest.query(`SELECT set_config('zero_trust.identity', $1, true)`, [leaked]);
      stolen = (await attackerRequest.query(`SELECT title FROM notes ORDER BY title`)) as Array<{ title: string }>;
    }
    await attackerRequest.commitTransaction();
    await attackerRequest.release();

    expect(own.map((r) => r.title)).toEqual(['mine']);
    // Wanted: nothing to read, and nothing more than the attacker's own rows.
    expect({ leaked: leaked ?? null, stolen: stolen.map((r) => r.title) }).toEqual({ leaked: null, stolen: [] });
  });

  it('a signed identity is bound to its transaction: the value of a committed transaction is refused in the next one of the same backend', async () => {
    // Whatever channel carries it (the query text above, a statement log, an error report), a value the
    // module set for an admin's transaction must not work once that transaction is over.
    const runner = app.createQueryRunner();
    await runner.connect();
    await identity.begin(runner, { ownerId: ADMIN, issuer: 'https://api.test', scopes: ['notes:admin'] } as never, Date.now());
    const [{ value }] = (await runner.query(`SELECT current_setting('zero_trust.identity') AS value`)) as Array<{ value: string }>;
    await runner.commitTransaction();
    // The next transaction on the same connection: only the set_config an injection can issue.
    await runner.startTransaction();
    await runner.query(`SELECT set_config('zero_trust.identity', $1, true)`, [value]);
    const titles = ((await runner.query(`SELECT title FROM notes ORDER BY title`)) as Array<{ title: string }>).map((r) => r.title);
    await runner.commitTransaction();
    await runner.release();
    expect(titles).toEqual([]);
  });
});

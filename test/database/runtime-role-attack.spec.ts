/**
 * Issue 14: the database holds under SQL injection. SQL injected through the app runs as the app's
 * runtime role, on a connection of its own pool: this suite connects as that role to a database migrated
 * with the sample's own migrations (least privilege, row-level security, the user-credentials lockdown)
 * and tries what an injector would. Every attempt fails, and a snapshot of the data taken before is
 * unchanged after. The library's building blocks are covered case by case in least-privilege.spec.ts
 * and review13/rls-identity-leak-postgres.spec.ts; this is the whole app's surface, end to end.
 */
import 'reflect-metadata';
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserCredentials } from '../../lib/accounts/user-credentials.js';
import { RlsContext } from '../../lib/database/rls-context.js';
import { RlsIdentities, RlsIdentity, TRANSACTION_START } from '../../lib/database/rls-identity.js';
import { requirePostgresUrl } from '../support/services.js';

const pgUrl = requirePostgresUrl();
const suffix = randomBytes(5).toString('hex');
const OWNER = `zt_atk_owner_${suffix}`;
const RUNTIME = `zt_atk_app_${suffix}`;
const IDENTITY_KEY = randomBytes(48).toString('base64');
// The sample reads these when its migrations and hasher are imported (below, in beforeAll).
Object.assign(process.env, {
  ZT_DB_OWNER_ROLE: OWNER,
  ZT_DB_RUNTIME_ROLE: RUNTIME,
  ZT_RLS_IDENTITY_KEY: IDENTITY_KEY,
  ZT_PASSWORD_PEPPER: randomBytes(32).toString('base64'),
  DATABASE_RUNTIME_PASSWORD: `pw-${randomBytes(12).toString('hex')}`,
});
const identity = new RlsIdentity(Buffer.from(IDENTITY_KEY, 'utf8'));
const ISSUER = 'https://api.test';

const ALICE = randomUUID(); // MFA on, recovery codes, notes
const BOB = randomUUID(); // a hash from before the pepper
const OPERATOR = randomUUID(); // users:admin
const ATTACKER = randomUUID(); // the injector's own account

type Rows = Array<Record<string, unknown>>;

async function failure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'no error';
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
}

describe.skipIf(!pgUrl)('the runtime role under SQL injection (PostgreSQL, the sample\'s migrations)', () => {
  const database = `zt_atk_${suffix}`;
  const sibling = `zt_atk_sibling_${suffix}`;
  let root: pg.Client;
  let owner: pg.Client; // an operator in psql: the migration login, a superuser
  let admin: DataSource;
  let app: DataSource; // the app's pool, one connection: the runtime role
  let injected: pg.Client; // another connection of the runtime role: where injected SQL runs
  let runtimeUrl: URL;
  let hasher: typeof import('../../sample/src/auth/password-hasher.js');

  const q = async (sql: string, params?: unknown[]): Promise<Rows> => (await injected.query(sql, params as unknown[])).rows;
  const asOperator = async (sql: string, params?: unknown[]): Promise<Rows> => (await owner.query(sql, params as unknown[])).rows;

  /** Everything an attack could change, read as the superuser. */
  const snapshot = async () => ({
    users: await asOperator('SELECT id, email, password_hash, scopes, disabled_at, created_at FROM users ORDER BY id'),
    notes: await asOperator('SELECT id, owner_id, title, body FROM notes ORDER BY id'),
    factors: await asOperator('SELECT subject, secret, pending_secret, last_used_step, enabled_at FROM zt_mfa_factors ORDER BY subject'),
    codes: await asOperator('SELECT subject, code_hash, used_at FROM zt_recovery_codes ORDER BY subject, code_hash'),
    audit: await asOperator('SELECT id, type, subject, details FROM zt_audit_log ORDER BY id'),
    triggers: await asOperator(`SELECT tgname, tgenabled FROM pg_trigger WHERE NOT tgisinternal ORDER BY tgname`),
    functions: await asOperator(`SELECT proname, pg_get_userbyid(proowner) AS owner, md5(prosrc) AS body FROM pg_proc WHERE proname LIKE 'zt\\_%' ORDER BY proname`),
    grants: await asOperator(`SELECT table_name, column_name, privilege_type FROM information_schema.column_privileges WHERE grantee = $1 ORDER BY 1, 2, 3`, [RUNTIME]),
    largeObjects: await asOperator('SELECT count(*)::int AS n FROM pg_largeobject_metadata'),
    roles: await asOperator(`SELECT rolname, rolsuper, rolcreaterole, rolbypassrls FROM pg_roles WHERE rolname IN ($1, $2) ORDER BY 1`, [OWNER, RUNTIME]),
  });

  /** One transaction on the injected connection, optionally carrying a value for the identity setting. */
  async function inTransaction(value: ((pid: number, start: string) => string) | string | null, statements: string[]): Promise<Array<Rows | string>> {
    const results: Array<Rows | string> = [];
    await q('BEGIN');
    try {
      if (value !== null) {
        const [{ pid, t }] = (await q(`SELECT pg_backend_pid() AS pid, ${TRANSACTION_START} AS t`)) as Array<{ pid: number; t: string }>;
        await q(`SELECT set_config('zero_trust.identity', $1, true)`, [typeof value === 'string' ? value : value(Number(pid), String(t))]);
      }
      for (const sql of statements) {
        await q('SAVEPOINT attempt');
        try {
          results.push(await q(sql));
          await q('RELEASE SAVEPOINT attempt');
        } catch (error) {
          await q('ROLLBACK TO SAVEPOINT attempt');
          results.push((error as { code?: string }).code ?? String(error));
        }
      }
    } finally {
      // COMMIT, not ROLLBACK: whatever an attempt managed to do must show in the snapshot.
      await q('COMMIT');
    }
    return results;
  }
  const operatorIdentity = (pid: number, start: string, nowMs = Date.now()) => identity.sign({ ownerId: OPERATOR, issuer: ISSUER, scopes: ['users:admin'] }, pid, start, nowMs);
  const attackerIdentity = (pid: number, start: string) => identity.sign({ ownerId: ATTACKER, issuer: ISSUER, scopes: [] }, pid, start, Date.now());

  beforeAll(async () => {
    root = new pg.Client({ connectionString: pgUrl });
    await root.connect();
    await root.query(`CREATE DATABASE ${database}`);
    await root.query(`CREATE DATABASE ${sibling}`);
    const url = new URL(pgUrl!);
    url.pathname = `/${database}`;
    const { MIGRATIONS, ENTITIES } = await import('../../sample/src/database/database.options.js');
    hasher = await import('../../sample/src/auth/password-hasher.js');
    admin = await new DataSource({ type: 'postgres', url: url.toString(), entities: ENTITIES, migrations: MIGRATIONS } as DataSourceOptions).initialize();
    await admin.runMigrations();
    owner = new pg.Client({ connectionString: url.toString() });
    await owner.connect();
    // A sibling project's database, locked down the same way: the runtime role of this one has no business there.
    const siblingUrl = new URL(pgUrl!);
    siblingUrl.pathname = `/${sibling}`;
    const siblingClient = new pg.Client({ connectionString: siblingUrl.toString() });
    await siblingClient.connect();
    await siblingClient.query(`REVOKE CONNECT, TEMPORARY ON DATABASE ${sibling} FROM PUBLIC`);
    await siblingClient.end();

    const legacy = await (await import('@node-rs/argon2')).hash('bob password', { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 });
    await asOperator(`INSERT INTO users (id, email, password_hash, scopes) VALUES ($1, 'alice@example.com', $2, '{}'), ($3, 'bob@example.com', $4, '{}'),
      ($5, 'operator@example.com', $6, '{users:admin}'), ($7, 'attacker@example.com', $8, '{}')`, [
      ALICE, await hasher.hashPassword('alice password'), BOB, legacy, OPERATOR, await hasher.hashPassword('operator password'), ATTACKER, await hasher.hashPassword('attacker password'),
    ]);
    await asOperator(`INSERT INTO notes (id, owner_id, title, body) VALUES (gen_random_uuid(), $1, 'alice secret', 'x'), (gen_random_uuid(), $2, 'attacker note', 'y')`, [ALICE, ATTACKER]);
    await asOperator(`INSERT INTO zt_mfa_factors (subject, secret, last_used_step, enabled_at) VALUES ($1, 'v1.ciphertext-of-alice', 1, now())`, [ALICE]);
    await asOperator(`INSERT INTO zt_recovery_codes (subject, code_hash) VALUES ($1, repeat('a', 64)), ($1, repeat('b', 64))`, [ALICE]);
    await asOperator(`INSERT INTO zt_audit_log ("time", type, outcome) VALUES (now(), 'seed', 'success')`);

    runtimeUrl = new URL(url);
    runtimeUrl.username = RUNTIME;
    runtimeUrl.password = process.env.DATABASE_RUNTIME_PASSWORD!;
    app = await new DataSource({ type: 'postgres', url: runtimeUrl.toString(), entities: ENTITIES, extra: { max: 1 } } as DataSourceOptions).initialize();
    RlsIdentities.register(app, identity);
    injected = new pg.Client({ connectionString: runtimeUrl.toString() });
    await injected.connect();
  });

  afterAll(async () => {
    await injected?.end().catch(() => undefined);
    await app?.destroy().catch(() => undefined);
    await admin?.destroy().catch(() => undefined);
    await owner?.end().catch(() => undefined);
    for (const name of [database, sibling]) await root.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
    for (const role of [RUNTIME, OWNER]) await root.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
    await root.end();
  });

  describe('every attack fails and changes nothing', () => {
    let before: Awaited<ReturnType<typeof snapshot>>;
    beforeAll(async () => {
      before = await snapshot();
    });

    it.each([
      // Reading the credentials in bulk
      ['read the password hashes', 'SELECT password_hash FROM users'],
      ['read whole user rows', 'SELECT * FROM users'],
      ['read a user row as a record', 'SELECT to_jsonb(u) FROM users u'],
      ['copy the users table out', 'COPY users TO STDOUT'],
      // Writing grants, login names and hashes
      ['grant itself a scope', `UPDATE users SET scopes = '{users:admin}' WHERE id = '${ATTACKER}'`],
      ['re-enable a disabled user / disable one', `UPDATE users SET disabled_at = now() WHERE id = '${ALICE}'`],
      ['move a victim\'s login to its own mailbox', `UPDATE users SET email = 'attacker+alice@example.com' WHERE id = '${ALICE}'`],
      ['overwrite a password hash', `UPDATE users SET password_hash = 'x' WHERE id = '${ALICE}'`],
      ['register an account with scopes', `INSERT INTO users (id, email, password_hash, scopes) VALUES (gen_random_uuid(), 'evil@example.com', 'zp1$x$y', '{users:admin}')`],
      ['upsert scopes onto an account', `INSERT INTO users (id, email, password_hash) VALUES ('${ATTACKER}', 'a@example.com', 'zp1$x') ON CONFLICT (id) DO UPDATE SET scopes = '{users:admin}'`],
      ['delete a user (and re-create it with its own password)', `DELETE FROM users WHERE id = '${ALICE}'`],
      ['call the operator\'s scope setter', `SELECT zt_users_set_scopes('${ATTACKER}', '{users:admin}')`],
      ['call the operator\'s disable setter', `SELECT zt_users_set_disabled_at('${ALICE}', now())`],
      ['turn off triggers for its session', `SET session_replication_role = replica`],
      ['turn off the audit trigger', 'ALTER TABLE users DISABLE TRIGGER ALL'],
      ['replace a credential function', `CREATE OR REPLACE FUNCTION public.zt_users_check_password(subject uuid, candidate text) RETURNS boolean LANGUAGE sql AS $$ SELECT true $$`],
      // The audit trail
      ['rewrite the audit trail', `UPDATE zt_audit_log SET type = 'forged'`],
      ['delete from the audit trail', 'DELETE FROM zt_audit_log'],
      ['truncate the audit trail', 'TRUNCATE zt_audit_log'],
      // DDL, temporary objects, roles, large objects
      ['create a table', 'CREATE TABLE public.loot (x text)'],
      ['add a column', 'ALTER TABLE users ADD COLUMN loot text'],
      ['drop a table', 'DROP TABLE notes'],
      ['drop the audit trigger', 'DROP TRIGGER zt_users_audit_grants ON users'],
      ['create a temporary table', 'CREATE TEMP TABLE loot (x text)'],
      ['create a temporary view over the users', 'CREATE TEMP VIEW loot AS SELECT id FROM users'],
      ['SET ROLE to the owner', `SET ROLE ${OWNER}`],
      ['SET ROLE to the superuser', 'SET ROLE postgres'],
      ['set_config(role) to the owner', `SELECT set_config('role', '${OWNER}', false)`],
      ['SET SESSION AUTHORIZATION', 'SET SESSION AUTHORIZATION postgres'],
      ['set_config(session_authorization)', `SELECT set_config('session_authorization', 'postgres', false)`],
      ['create a large object', 'SELECT lo_create(0)'],
      ['store a large object from bytes', `SELECT lo_from_bytea(0, 'loot')`],
      ['import a server file as a large object', `SELECT lo_import('/etc/passwd')`],
      ['load an extension (dblink to other databases)', 'CREATE EXTENSION dblink'],
    ])('refuses to %s (42501)', async (_attack, sql) => {
      const [result] = await inTransaction(null, [sql]);
      expect(result).toBe('42501');
    });

    it.each([
      ['a hash computed without the pepper, through the setter', `SELECT zt_users_set_password('${ALICE}', '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g')`],
      ['a hash computed without the pepper, in a new account', `INSERT INTO users (id, email, password_hash) VALUES (gen_random_uuid(), 'plant@example.com', '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g')`],
    ])('refuses to store %s (22023)', async (_attack, sql) => {
      expect(await inTransaction(null, [sql])).toEqual(['22023']);
    });

    it('reads no encrypted TOTP secret and no recovery-code hash: without an identity naming their subject, the tables are empty to it', async () => {
      expect(await inTransaction(null, ['SELECT subject, secret, pending_secret FROM zt_mfa_factors', 'SELECT subject, code_hash FROM zt_recovery_codes'])).toEqual([[], []]);
    });

    it('reads no hash through the credential functions: only the salt and cost, and a check it cannot pass without the pepper', async () => {
      const [settings, checks] = await inTransaction(null, [
        'SELECT id::text, zt_users_password_settings(id) AS s FROM users ORDER BY id',
        `SELECT bool_or(zt_users_check_password(id, 'guess')) AS any FROM users`,
      ]);
      const stored = new Map(before.users.map((user) => [user.id as string, user.password_hash as string]));
      for (const row of settings as Rows) {
        const hash = stored.get(row.id as string)!;
        expect(row.s).toBe(hash.slice(0, hash.lastIndexOf('$')));
        expect(String(row.s)).not.toContain(hash.slice(hash.lastIndexOf('$') + 1));
      }
      expect(checks).toEqual([{ any: false }]);
    });

    it.each([
      ['the old plain settings', null, [`SELECT set_config('zero_trust.user_id', '${OPERATOR}', true)`, `SELECT set_config('zero_trust.scopes', 'users:admin', true)`]],
      ['an identity signed with another key', (pid: number, start: string) => new RlsIdentity(randomBytes(48)).sign({ ownerId: OPERATOR, issuer: ISSUER, scopes: ['users:admin'] }, pid, start, Date.now()), []],
      ['an operator identity of another backend', (pid: number, start: string) => operatorIdentity(pid + 1, start), []],
      ['an operator identity of an earlier transaction', (pid: number) => operatorIdentity(pid, '1'), []],
      ['an expired operator identity', (pid: number, start: string) => operatorIdentity(pid, start, Date.now() - 3_600_000), []],
    ] as const)('a forged context (%s) grants nothing: no scope change, no other user\'s rows', async (_name, value, extra) => {
      const results = await inTransaction(value, [...extra, `SELECT zt_users_set_scopes('${ATTACKER}', '{users:admin}')`, 'SELECT title FROM notes', 'SELECT subject FROM zt_mfa_factors']);
      expect(results.slice(extra.length)).toEqual(['42501', [], []]);
    });

    it('row_security off for its session: owned tables refuse to answer rather than show everything', async () => {
      expect(await inTransaction(null, [`SELECT set_config('row_security', 'off', true)`, 'SELECT title FROM notes'])).toEqual([[{ set_config: 'off' }], '42501']);
    });

    it("cannot read an operator's identity from pg_stat_activity, nor replay it once its transaction is over", async () => {
      // The app serves an operator's request: its transaction carries the operator's signed identity.
      const operatorRequest = app.createQueryRunner();
      await operatorRequest.connect();
      await identity.begin(operatorRequest, { ownerId: OPERATOR, issuer: ISSUER, scopes: ['users:admin'] } as never, Date.now());
      const seen = await q(`SELECT query FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND usename = current_user`);
      const [{ value }] = (await operatorRequest.query(`SELECT current_setting('zero_trust.identity') AS value`)) as Array<{ value: string }>;
      await operatorRequest.commitTransaction();
      await operatorRequest.release();
      expect(seen.map((row) => String(row.query)).join('\n')).not.toContain(value.split('.')[1]);
      // Leaked anyway (a log, an error report): on the injector's connection it identifies nobody.
      expect(await inTransaction(value, [`SELECT zt_users_set_scopes('${ATTACKER}', '{users:admin}')`, 'SELECT title FROM notes'])).toEqual(['42501', []]);
    });

    it("with its own request's identity it sees its own rows only", async () => {
      const [notes, factors, codes, users] = await inTransaction(attackerIdentity, [
        'SELECT title FROM notes',
        'SELECT subject FROM zt_mfa_factors',
        'SELECT subject FROM zt_recovery_codes',
        `SELECT zt_users_set_scopes('${ATTACKER}', '{users:admin}')`,
      ]);
      expect({ notes, factors, codes, users }).toEqual({ notes: [{ title: 'attacker note' }], factors: [], codes: [], users: '42501' });
    });

    it("cannot strip another user's second factor or plant a recovery code for it", async () => {
      const results = await inTransaction(attackerIdentity, [
        `DELETE FROM zt_mfa_factors WHERE subject = '${ALICE}' RETURNING subject`,
        `UPDATE zt_mfa_factors SET secret = NULL WHERE subject = '${ALICE}' RETURNING subject`,
        `DELETE FROM zt_recovery_codes WHERE subject = '${ALICE}' RETURNING subject`,
        `INSERT INTO zt_recovery_codes (subject, code_hash) VALUES ('${ALICE}', encode(sha256('known'), 'hex'))`,
        `INSERT INTO zt_mfa_factors (subject, secret) VALUES ('${BOB}', 'v1.planted')`,
      ]);
      expect(results).toEqual([[], [], [], '42501', '42501']);
    });

    it('cannot connect to another database of the server that is not open to every role', async () => {
      const other = new URL(runtimeUrl);
      other.pathname = `/${sibling}`;
      const client = new pg.Client({ connectionString: other.toString() });
      expect(await failure(client.connect())).toBe('42501');
      await client.end().catch(() => undefined);
    });

    it('leaves the data, the audit trail, the triggers, functions and grants exactly as they were', async () => {
      expect(await snapshot()).toEqual(before);
    });
  });

  describe('the app keeps working through the owner\'s functions', () => {
    const credentials = () => new UserCredentials(app, { table: 'users' });

    it('checks a password by its candidate hash: right, wrong, unknown account', async () => {
      const settings = (await credentials().passwordSettings(ALICE))!;
      expect((await credentials().checkPassword(ALICE, (await hasher.passwordCandidate(settings, 'alice password')).candidate))).toBe(true);
      expect((await credentials().checkPassword(ALICE, (await hasher.passwordCandidate(settings, 'alice passworD')).candidate))).toBe(false);
      expect((await credentials().checkPassword(null, (await hasher.passwordCandidate(await hasher.decoySettings(), 'x')).candidate))).toBe(false);
    });

    it('re-peppers a hash made before the pepper at its next successful check, and records that the password changed', async () => {
      const settings = (await credentials().passwordSettings(BOB))!;
      expect(settings.startsWith('$argon2id$')).toBe(true);
      const { candidate, current } = await hasher.passwordCandidate(settings, 'bob password');
      expect({ valid: await credentials().checkPassword(BOB, candidate), current }).toEqual({ valid: true, current: false });
      expect(await credentials().setPassword(BOB, await hasher.hashPassword('bob password'))).toBe(true);
      const [{ password_hash: after }] = await asOperator('SELECT password_hash FROM users WHERE id = $1', [BOB]);
      expect(String(after)).toMatch(/^zp1\$[0-9a-f]{8}\$argon2id\$/);
      const again = await hasher.passwordCandidate((await credentials().passwordSettings(BOB))!, 'bob password');
      expect({ valid: await credentials().checkPassword(BOB, again.candidate), current: again.current }).toEqual({ valid: true, current: true });
      const [event] = await asOperator(`SELECT type, subject, details FROM zt_audit_log WHERE type = 'credentials.changed' ORDER BY id DESC LIMIT 1`);
      expect(event).toMatchObject({ type: 'credentials.changed', subject: BOB, details: { changes: { password_hash: 'changed' } } });
      expect(JSON.stringify(event)).not.toContain(String(after));
    });

    it("changes a grant for an operator's signed identity, and the trigger records who and what", async () => {
      const operator = { subject: OPERATOR, ownerId: OPERATOR, issuer: ISSUER, scopes: ['users:admin'] } as never;
      expect(await RlsContext.run(app, operator, () => credentials().setGrant(BOB, 'scopes', ['notes:admin']))).toBe(true);
      const [{ scopes }] = await asOperator('SELECT scopes FROM users WHERE id = $1', [BOB]);
      expect(scopes).toEqual(['notes:admin']);
      const [event] = await asOperator(`SELECT type, outcome, subject, details FROM zt_audit_log WHERE type = 'grants.changed' ORDER BY id DESC LIMIT 1`);
      expect(event).toMatchObject({
        type: 'grants.changed',
        subject: BOB,
        details: { table: 'users', operation: 'UPDATE', changes: { scopes: { old: [], new: ['notes:admin'] } }, actor: OPERATOR, sessionUser: RUNTIME, databaseUser: OWNER },
      });
      // Without the scope, the same call is refused by the database.
      const user = { subject: ATTACKER, ownerId: ATTACKER, issuer: ISSUER, scopes: [] } as never;
      expect(await failure(RlsContext.run(app, user, () => credentials().setGrant(ATTACKER, 'scopes', ['users:admin'])))).toBe('42501');
    });
  });

  describe('an operator in psql', () => {
    it('a grant change made outside the app lands in the audit trail, with the database user who made it', async () => {
      const [{ user }] = await asOperator('SELECT current_user AS user');
      await asOperator(`UPDATE users SET scopes = '{audit:read}', disabled_at = now() WHERE id = $1`, [ATTACKER]);
      const [event] = await asOperator(`SELECT type, subject, reason, details FROM zt_audit_log WHERE type = 'grants.changed' ORDER BY id DESC LIMIT 1`);
      expect(event).toMatchObject({ type: 'grants.changed', subject: ATTACKER, details: { table: 'users', operation: 'UPDATE', databaseUser: user, sessionUser: user, actor: null } });
      const changes = (event.details as { changes: Record<string, { old: unknown; new: unknown }> }).changes;
      expect(changes.scopes).toEqual({ old: [], new: ['audit:read'] });
      expect(changes.disabled_at.old).toBeNull();
      expect(changes.disabled_at.new).not.toBeNull();
      expect(String(event.reason)).toBe('users: disabled_at,scopes');
    });

    it('so does turning a user\'s MFA off, and deleting a user', async () => {
      await asOperator(`DELETE FROM zt_mfa_factors WHERE subject = $1`, [ALICE]);
      await asOperator(`DELETE FROM users WHERE id = $1`, [ATTACKER]);
      const events = await asOperator(`SELECT subject, details FROM zt_audit_log WHERE type = 'grants.changed' ORDER BY id DESC LIMIT 2`);
      expect(events[1]).toMatchObject({ subject: ALICE, details: { table: 'zt_mfa_factors', operation: 'DELETE', changes: { mfa: { old: true, new: false } } } });
      expect(events[0]).toMatchObject({ subject: ATTACKER, details: { table: 'users', operation: 'DELETE', changes: { scopes: { old: ['audit:read'], new: null } } } });
    });
  });
});

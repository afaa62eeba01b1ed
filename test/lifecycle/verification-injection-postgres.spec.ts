/**
 * Issue 20: the account lifecycle under SQL injection. SQL injected through the app runs as the app's
 * runtime role: this suite connects as that role to a PostgreSQL database migrated with the sample's own
 * migrations and tries to verify an account, or to get a password-reset link it can use, without the
 * mail. Before `LifecycleCredentialsMigration` the role could `UPDATE users SET email_verified_at`, and
 * INSERT a reset token of its choosing for any account (the stamp is computable from the hash settings
 * it may read) and reset that account's password through the app's own route: a takeover. Every attempt
 * fails now, and a snapshot of the users and tokens taken before is unchanged after. Then the app's own
 * path (the library's repository and `UserCredentials`, under the identity key) still works.
 */
import 'reflect-metadata';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserCredentials } from '../../lib/accounts/user-credentials.js';
import type { DataSourceRef } from '../../lib/database/data-source.ref.js';
import { RlsIdentities, RlsIdentity, TRANSACTION_START } from '../../lib/database/rls-identity.js';
import { AccountTokenRepository, hashToken, stampDigest } from '../../lib/lifecycle/account-token.repository.js';
import { requirePostgresUrl } from '../support/services.js';

const pgUrl = requirePostgresUrl();
const suffix = randomBytes(5).toString('hex');
const OWNER = `zt_lcv_owner_${suffix}`;
const RUNTIME = `zt_lcv_app_${suffix}`;
const IDENTITY_KEY = randomBytes(48).toString('base64');
Object.assign(process.env, {
  ZT_DB_OWNER_ROLE: OWNER,
  ZT_DB_RUNTIME_ROLE: RUNTIME,
  ZT_RLS_IDENTITY_KEY: IDENTITY_KEY,
  ZT_PASSWORD_PEPPER: randomBytes(32).toString('base64'),
  DATABASE_RUNTIME_PASSWORD: `pw-${randomBytes(12).toString('hex')}`,
});
const identity = new RlsIdentity(Buffer.from(IDENTITY_KEY, 'utf8'));
const forger = new RlsIdentity(randomBytes(48));

const VICTIM = randomUUID(); // registered, not verified yet; a verification link is in its mailbox
const ATTACKER = randomUUID(); // the injector's own, verified account, with a live reset link of its own
const VICTIM_LINK = randomBytes(32).toString('base64url'); // in the victim's mailbox only
const ATTACKER_LINK = randomBytes(32).toString('base64url'); // in the attacker's mailbox
const KNOWN = randomBytes(32).toString('base64url'); // a token the attacker makes up
const sha = (value: string) => createHash('sha256').update(value).digest('hex');

type Rows = Array<Record<string, unknown>>;

describe.skipIf(!pgUrl)('verification and reset tokens under SQL injection (PostgreSQL, the sample\'s migrations)', () => {
  const database = `zt_lcv_${suffix}`;
  let root: pg.Client;
  let owner: pg.Client;
  let admin: DataSource;
  let app: DataSource;
  let injected: pg.Client;
  let victimStamp: string;

  const q = async (sql: string, params?: unknown[]): Promise<Rows> => (await injected.query(sql, params as unknown[])).rows;
  const asOperator = async (sql: string, params?: unknown[]): Promise<Rows> => (await owner.query(sql, params as unknown[])).rows;
  const snapshot = async () => ({
    users: await asOperator('SELECT id, email, password_hash, email_verified_at, scopes, disabled_at FROM users ORDER BY id'),
    tokens: await asOperator('SELECT * FROM zt_account_tokens ORDER BY token_hash'),
    grants: await asOperator(`SELECT table_name, column_name, privilege_type FROM information_schema.column_privileges WHERE grantee = $1 ORDER BY 1, 2, 3`, [RUNTIME]),
    functions: await asOperator(`SELECT proname, pg_get_userbyid(proowner) AS owner, md5(prosrc) AS body FROM pg_proc WHERE proname LIKE 'zt\\_%' ORDER BY proname`),
  });

  /** One statement in a transaction of the injected connection (committed: whatever it did must show), with an identity value or none. */
  async function attempt(sql: string, signedAs?: (pid: number, start: string) => string): Promise<string | Rows> {
    await q('BEGIN');
    try {
      if (signedAs) {
        const [{ pid, t }] = (await q(`SELECT pg_backend_pid() AS pid, ${TRANSACTION_START} AS t`)) as Array<{ pid: number; t: string }>;
        await q(`SELECT set_config('zero_trust.identity', $1, true)`, [signedAs(Number(pid), String(t))]);
      }
      await q('SAVEPOINT attempt');
      try {
        return await q(sql);
      } catch (error) {
        await q('ROLLBACK TO SAVEPOINT attempt');
        return (error as { code?: string }).code ?? String(error);
      }
    } finally {
      await q('COMMIT');
    }
  }

  beforeAll(async () => {
    root = new pg.Client({ connectionString: pgUrl });
    await root.connect();
    await root.query(`CREATE DATABASE ${database}`);
    const url = new URL(pgUrl!);
    url.pathname = `/${database}`;
    const { MIGRATIONS, ENTITIES } = await import('../../sample/src/database/database.options.js');
    const hasher = await import('../../sample/src/auth/password-hasher.js');
    admin = await new DataSource({ type: 'postgres', url: url.toString(), entities: ENTITIES, migrations: MIGRATIONS } as DataSourceOptions).initialize();
    await admin.runMigrations();
    owner = new pg.Client({ connectionString: url.toString() });
    await owner.connect();
    await asOperator(`INSERT INTO users (id, email, password_hash, scopes) VALUES ($1, 'victim@example.com', $2, '{}'), ($3, 'attacker@example.com', $4, '{}')`, [
      VICTIM, await hasher.hashPassword('victim password 1'), ATTACKER, await hasher.hashPassword('attacker password 1'),
    ]);
    await asOperator(`UPDATE users SET email_verified_at = now() WHERE id = $1`, [ATTACKER]);
    const [{ settings }] = await asOperator(`SELECT zt_users_password_settings($1) AS settings`, [VICTIM]);
    victimStamp = stampDigest(String(settings))!;
    await asOperator(
      `INSERT INTO zt_account_tokens (token_hash, purpose, subject, password_stamp, expires_at) VALUES ($1, 'verify', $2, $3, now() + interval '1 day'), ($4, 'reset', $5, NULL, now() + interval '15 minutes')`,
      [hashToken(VICTIM_LINK), VICTIM, victimStamp, hashToken(ATTACKER_LINK), ATTACKER],
    );

    const runtimeUrl = new URL(url);
    runtimeUrl.username = RUNTIME;
    runtimeUrl.password = process.env.DATABASE_RUNTIME_PASSWORD!;
    app = await new DataSource({ type: 'postgres', url: runtimeUrl.toString(), entities: ENTITIES, extra: { max: 2 } } as DataSourceOptions).initialize();
    RlsIdentities.register(app, identity);
    injected = new pg.Client({ connectionString: runtimeUrl.toString() });
    await injected.connect();
  });

  afterAll(async () => {
    await injected?.end().catch(() => undefined);
    await app?.destroy().catch(() => undefined);
    await admin?.destroy().catch(() => undefined);
    await owner?.end().catch(() => undefined);
    await root?.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined);
    for (const role of [RUNTIME, OWNER]) await root?.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
    await root?.end();
  });

  describe('every attempt fails and changes nothing', () => {
    let before: Awaited<ReturnType<typeof snapshot>>;
    beforeAll(async () => {
      before = await snapshot();
    });

    const asAttacker = (pid: number, start: string) => identity.sign({ ownerId: ATTACKER, issuer: 'https://api.test', scopes: [] }, pid, start, Date.now());
    const forgedVictim = (pid: number, start: string) => forger.sign({ ownerId: VICTIM, issuer: 'https://api.test', scopes: [] }, pid, start, Date.now());
    const claimedVictim = () => `${Buffer.from(JSON.stringify({ s: VICTIM })).toString('hex')}.${'0'.repeat(64)}`;
    const issue = (purpose: string, subject: string) => `SELECT zt_account_tokens_issue('${purpose}', '${subject}', '${sha(KNOWN)}', ${purpose === 'reset' ? `'${'0'.repeat(64)}'` : 'NULL'}, 900)`;

    it.each([
      // The verified column
      ['mark an account verified with an UPDATE', `UPDATE users SET email_verified_at = now() WHERE id = '${VICTIM}'`],
      ['register an account already verified', `INSERT INTO users (id, email, password_hash, email_verified_at) VALUES (gen_random_uuid(), 'evil@example.com', 'zp1$x', now())`],
      ['upsert the verified column onto an account', `INSERT INTO users (id, email, password_hash) VALUES ('${VICTIM}', 'v@example.com', 'zp1$x') ON CONFLICT (id) DO UPDATE SET email_verified_at = now()`],
      // The token table
      ['plant a verification token it knows', `INSERT INTO zt_account_tokens (token_hash, purpose, subject, expires_at) VALUES ('${sha(KNOWN)}', 'verify', '${VICTIM}', now() + interval '1 day')`],
      ['plant a reset token it knows, with the victim\'s stamp', `INSERT INTO zt_account_tokens (token_hash, purpose, subject, password_stamp, expires_at) VALUES ('${sha(KNOWN)}', 'reset', '${VICTIM}', (SELECT encode(sha256(convert_to('zt-password-stamp' || zt_users_password_settings('${VICTIM}'), 'UTF8')), 'hex')), now() + interval '1 hour')`],
      ['move its own reset link to the victim', `UPDATE zt_account_tokens SET subject = '${VICTIM}' WHERE purpose = 'reset'`],
      ['turn its own reset link into the victim\'s verification', `UPDATE zt_account_tokens SET subject = '${VICTIM}', purpose = 'verify' WHERE token_hash = '${hashToken(ATTACKER_LINK)}'`],
      ['spend the victim\'s link without it', `UPDATE zt_account_tokens SET used_at = now() WHERE subject = '${VICTIM}'`],
      ['extend a link', `UPDATE zt_account_tokens SET expires_at = now() + interval '10 years'`],
      ['delete the links', 'DELETE FROM zt_account_tokens'],
      ['replace a link\'s hash with one it knows', `UPDATE zt_account_tokens SET token_hash = '${sha(KNOWN)}' WHERE subject = '${VICTIM}'`],
    ])('cannot %s (SQLSTATE 42501)', async (_name, sql) => {
      expect(await attempt(sql)).toBe('42501');
    });

    it.each([
      ['without an identity', undefined],
      ['with a claimed identity (no MAC)', claimedVictim],
      ['with an identity signed with another key', forgedVictim],
      ['with its own signed identity', asAttacker],
    ] as const)('cannot issue a reset or verification token for the victim through the owner\'s function %s', async (_name, signedAs) => {
      expect(await attempt(issue('reset', VICTIM), signedAs)).toBe('42501');
      expect(await attempt(issue('verify', VICTIM), signedAs)).toBe('42501');
    });

    it('cannot void the victim\'s links through the owner\'s function, without or with its own identity', async () => {
      expect(await attempt(`SELECT zt_account_tokens_void('verify', '${VICTIM}')`)).toBe('42501');
      expect(await attempt(`SELECT zt_account_tokens_void('verify', '${VICTIM}')`, asAttacker)).toBe('42501');
    });

    it.each([
      ['a made-up token', KNOWN],
      ['the stored hash of the victim\'s link (all the table shows)', hashToken(VICTIM_LINK)],
      ['its own live reset link', ATTACKER_LINK],
      ['an empty token', ''],
    ])('cannot mark the victim verified through zt_users_mark_verified with %s', async (_name, token) => {
      expect(await attempt(`SELECT zt_users_mark_verified('${VICTIM}', '${token}') AS done`)).toEqual([{ done: false }]);
    });

    it('cannot spend the victim\'s link through the owner\'s function with its hash', async () => {
      expect(await attempt(`SELECT zt_account_tokens_spend('verify', '${hashToken(VICTIM_LINK)}', '${VICTIM}', '${victimStamp}') AS spent`)).toEqual([{ spent: false }]);
    });

    it('cannot store a password hash it made (only peppered hashes are stored)', async () => {
      expect(await attempt(`SELECT zt_users_set_password('${VICTIM}', '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA')`)).toBe('22023');
    });

    // A peppered-looking value it made up: it cannot make one that verifies (that needs the pepper), but
    // stored, it would lock the victim out. Setting a password needs the subject's own signed identity.
    it.each([
      ['without an identity', undefined],
      ['with its own signed identity', asAttacker],
      ['with an identity signed with another key', forgedVictim],
    ] as const)('cannot lock the victim out by storing a peppered-looking hash %s', async (_name, signedAs) => {
      expect(await attempt(`SELECT zt_users_set_password('${VICTIM}', 'zp1$00000000$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA')`, signedAs)).toBe('42501');
    });

    it('changed nothing: users, links, grants and functions are as before', async () => {
      expect(await snapshot()).toEqual(before);
      const [victim] = await asOperator('SELECT email_verified_at FROM users WHERE id = $1', [VICTIM]);
      expect(victim.email_verified_at).toBeNull();
    });
  });

  describe('after the credentials migration runs again (it grants the columns it finds)', () => {
    it('still cannot write the verified column', async () => {
      const { MIGRATIONS } = await import('../../sample/src/database/database.options.js');
      const credentials = (MIGRATIONS as Array<new () => { name?: string; up(runner: unknown): Promise<void> }>).find((m) => new m().name === 'UserCredentials1732000310000' || m.name === 'UserCredentials1732000310000')!;
      const runner = admin.createQueryRunner();
      try {
        await new credentials().up(runner);
      } finally {
        await runner.release();
      }
      expect(await attempt(`UPDATE users SET email_verified_at = now() WHERE id = '${VICTIM}'`)).toBe('42501');
      expect(await attempt(`INSERT INTO users (id, email, password_hash, email_verified_at) VALUES (gen_random_uuid(), 'evil2@example.com', 'zp1$x', now())`)).toBe('42501');
      expect(await attempt(`SELECT email_verified_at FROM users WHERE id = '${VICTIM}'`)).toEqual([{ email_verified_at: null }]);
    });
  });

  describe('the app\'s own path still works', () => {
    const tokens = () => new AccountTokenRepository({ get: async () => app } as unknown as DataSourceRef);

    it('issues under the subject\'s signed identity, spends with the clear token once, and marks verified with it', async () => {
      const repository = tokens();
      await repository.assertTable();
      const link = await repository.issue('verify', VICTIM, 3600, undefined);
      const record = await repository.find('verify', link);
      expect(record).toEqual({ subject: VICTIM, passwordStamp: null });
      expect(await repository.spend('verify', link, record!)).toBe(true);
      expect(await repository.spend('verify', link, record!)).toBe(false);
      const credentials = new UserCredentials(app, { table: 'users' });
      expect(await credentials.markVerified(ATTACKER, link)).toBe(false); // another account's link
      expect(await credentials.markVerified(VICTIM, link)).toBe(true);
      const [victim] = await asOperator('SELECT email_verified_at FROM users WHERE id = $1', [VICTIM]);
      expect(victim.email_verified_at).not.toBeNull();
    });

    it('sets a peppered password under the subject\'s own identity (the reset flow, a change, a re-pepper at sign-in)', async () => {
      const hasher = await import('../../sample/src/auth/password-hasher.js');
      const credentials = new UserCredentials(app, { table: 'users' });
      expect(await credentials.setPassword(VICTIM, await hasher.hashPassword('victim password 2'))).toBe(true);
      const settings = (await credentials.passwordSettings(VICTIM))!;
      expect(await credentials.checkPassword(VICTIM, (await hasher.passwordCandidate(settings, 'victim password 2')).candidate)).toBe(true);
    });

    it('voids the subject\'s links under its own identity', async () => {
      const repository = tokens();
      const link = await repository.issue('reset', ATTACKER, 900, 'stamp');
      expect(await repository.voidAll('reset', ATTACKER)).toBeGreaterThanOrEqual(1);
      expect(await repository.find('reset', link)).toBeNull();
    });
  });
});

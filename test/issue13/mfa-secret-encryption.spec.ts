/**
 * Issue 13, item 21 (second half): TOTP secrets were stored in clear in the users table. They are now
 * AES-256-GCM ciphertexts in the library's table, encrypted with `accounts.totpEncryptionKey` from
 * configuration (never from the database), bound to their subject, and the key is required in production.
 */
import type { INestApplication } from '@nestjs/common';
import { ManualClock } from 'nestjs-zero-trust';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveAccountsOptions } from '../../lib/accounts/accounts.options.js';
import { totpCode, totpStep } from '../../lib/mfa/totp.js';
import { createSampleApp } from '../../sample/src/app.factory.js';
import { createAccountsApp, HARNESS_PASSWORD, MemoryDirectory } from '../sessions/accounts-app.js';
import { mfaUser, SAMPLE_PASSWORD as PASSWORD } from '../sessions/sample-accounts.js';
import { asOwner } from '../support/sample-database.js';
import { requirePostgresUrl } from '../support/services.js';
import { PLATFORMS } from '../support/test-app.js';

process.env.ZT_DB = 'memory';
process.env.ZT_AUTH_RATE_LIMIT = '10000';
const json = { 'Content-Type': 'application/json' };

describe.each(PLATFORMS)('13.21: TOTP secrets encrypted at rest (%s)', (platform) => {
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  let counter = 0;
  const email = () => `secret${++counter}-${platform}@example.com`;
  const subjectOf = async (address: string) => (await app.get(DataSource).query('SELECT id FROM users WHERE email = $1', [address]))[0].id as string;

  beforeAll(async () => {
    app = await createSampleApp(platform, false);
    http = request(app.getHttpServer());
  });
  afterAll(() => app?.close());

  it('13.21: the stored secret is a ciphertext: neither the secret nor its bytes appear in the database', async () => {
    const user = await mfaUser(http, email());
    const subject = await subjectOf(user.email);
    const [row] = await asOwner<{ secret: string; pending_secret: string | null }>(app, 'SELECT secret, pending_secret FROM zt_mfa_factors WHERE subject = $1', [subject]);
    expect(row.secret).toMatch(/^v1\./);
    expect(row.pending_secret).toBeNull();
    const dump = JSON.stringify(await asOwner(app, `SELECT * FROM zt_mfa_factors`)) + JSON.stringify(await asOwner(app, `SELECT * FROM users`));
    expect(dump).not.toContain(user.secret);
    expect(dump.toLowerCase()).not.toContain(user.secret.toLowerCase());
    // The users table has no secret column at all any more.
    const columns = await asOwner<{ column_name: string }>(app, `SELECT column_name FROM information_schema.columns WHERE table_name = 'users'`);
    expect(columns.map((c) => c.column_name)).not.toContain('mfa_secret');
  });

  it("13.21: an attacker's ciphertext copied over the victim's row opens nothing there", async () => {
    const attacker = await mfaUser(http, email());
    const victim = await mfaUser(http, email());
    await asOwner(app, `UPDATE zt_mfa_factors SET secret = (SELECT secret FROM zt_mfa_factors WHERE subject = $1) WHERE subject = $2`, [await subjectOf(attacker.email), await subjectOf(victim.email)]);
    await http.post('/auth/login').set(json).send({ email: victim.email, password: PASSWORD, otp: totpCode(attacker.secret, totpStep() + 1) }).expect(401);
  });

  it('13.21: the table refuses a secret in clear, whatever writes it', async () => {
    const user = await mfaUser(http, email());
    await expect(asOwner(app, `UPDATE zt_mfa_factors SET secret = $2 WHERE subject = $1`, [await subjectOf(user.email), user.secret])).rejects.toThrow(/check constraint/);
  });
});

describe('13.21: the key comes from configuration and is checked at boot', () => {
  const directory = new MemoryDirectory();
  const production = { environment: 'production', production: true } as never;
  const development = { environment: 'development', production: false } as never;

  it('13.21: production refuses to start without a key, and names the command that makes one', () => {
    expect(() => resolveAccountsOptions({ sessions: {}, accounts: { directory } }, production)).toThrow(/totpEncryptionKey is required in production.*openssl rand -base64 32/);
  });

  it.each([
    ['too short', randomBytes(16).toString('base64')],
    ['not base64', 'not a key at all, just words!!'],
    ['a number', 42],
  ])('13.21: a key that is %s is refused with the command', (_what, key) => {
    expect(() => resolveAccountsOptions({ sessions: {}, accounts: { directory, totpEncryptionKey: key } }, development)).toThrow(/accounts\.totpEncryptionKey must be 32 bytes, base64-encoded \(generate one with: openssl rand -base64 32\)/);
  });

  it('13.21: a misspelled option is refused with a suggestion, and the feature needs sessions', () => {
    expect(() => resolveAccountsOptions({ sessions: {}, accounts: { directory, totpEncrytionKey: 'x' } }, development)).toThrow(/Did you mean "totpEncryptionKey"/);
    expect(() => resolveAccountsOptions({ accounts: { directory, totpEncryptionKey: randomBytes(32).toString('base64') } }, development)).toThrow(/sessions/);
  });
});

const pgUrl = requirePostgresUrl();

/** Four apps over one PostgreSQL database, each configured with other keys: what a key rotation looks like. */
describe.skipIf(!pgUrl)('13.21: rotating the key (PostgreSQL)', () => {
  const apps: INestApplication[] = [];
  let dropDatabase: () => Promise<void>;
  let url: string;

  beforeAll(async () => {
    const pg = (await import('pg')).default;
    const name = `zt_i13_keys_${randomBytes(6).toString('hex')}`;
    const root = new pg.Client({ connectionString: pgUrl });
    await root.connect();
    await root.query(`CREATE DATABASE ${name}`);
    const target = new URL(pgUrl!);
    target.pathname = `/${name}`;
    url = target.toString();
    dropDatabase = async () => {
      await root.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await root.end();
    };
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    await dropDatabase?.();
  });

  it('13.21: after a rotation the previous key still opens old secrets, which move to the new key at their next use', async () => {
    const [oldKey, newKey] = [randomBytes(32).toString('base64'), randomBytes(32).toString('base64')];
    const clock = new ManualClock();
    const directory = new MemoryDirectory();
    const account = directory.add('rotating@example.com');
    const start = async (keys: { totpEncryptionKey: string; previousTotpEncryptionKeys?: string[] }) => {
      const started = await createAccountsApp('express', { zeroTrust: { clock }, accounts: keys, directory, postgresUrl: url });
      apps.push(started.app);
      return request(started.app.getHttpServer());
    };
    const storedKeyId = async () => (await apps[0].get(DataSource).query('SELECT secret FROM zt_mfa_factors WHERE subject = $1', [account.subject]))[0].secret.split('.')[1] as string;
    const login = (http: ReturnType<typeof request>) => {
      clock.advance(30_000); // each login spends a step: the next one uses a new one
      return http.post('/login').send({ login: account.login, password: HARNESS_PASSWORD, code: totpCode(secret, totpStep(clock.now())) });
    };

    const before = await start({ totpEncryptionKey: oldKey });
    const session = (await before.post('/login').send({ login: account.login, password: HARNESS_PASSWORD }).expect(200)).body;
    const { secret } = (await before.post('/mfa/enroll').set('Authorization', `Bearer ${session.accessToken}`).expect(201)).body;
    await before.post('/mfa/confirm').set('Authorization', `Bearer ${session.accessToken}`).send({ code: totpCode(secret, totpStep(clock.now())) }).expect(200);
    const oldId = await storedKeyId();

    const onlyNew = await start({ totpEncryptionKey: newKey });
    await login(onlyNew).expect(401); // the new key alone cannot open it

    const rotated = await start({ totpEncryptionKey: newKey, previousTotpEncryptionKeys: [oldKey] });
    await login(rotated).expect(200);
    expect(await storedKeyId()).not.toBe(oldId);

    await login(onlyNew).expect(200); // re-encrypted: the old key can now be retired
    await login(before).expect(401); // and the old key alone no longer opens it
  });
});

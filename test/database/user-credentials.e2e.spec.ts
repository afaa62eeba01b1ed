/**
 * Issue 14 on the sample as it runs by default (PGlite, serving as the runtime role): the credential
 * columns are out of the app's reach, yet sign-in, the pepper's migration of old hashes and the
 * operator's grant route work through the owner's functions, and each grant change is audited by the
 * database. (PGlite's SET ROLE is no wall against injection: runtime-role-attack.spec.ts attacks real PostgreSQL.)
 */
import type { INestApplication } from '@nestjs/common';
import { hash } from '@node-rs/argon2';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCode, totpStep } from '../../lib/mfa/totp.js';
import { createSampleApp } from '../../sample/src/app.factory.js';
import { asOwner } from '../support/sample-database.js';

process.env.ZT_DB = 'memory';
process.env.ZT_AUTH_RATE_LIMIT = '10000';
const PASSWORD = 'correct horse battery';
const json = { 'Content-Type': 'application/json' };
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

describe('users credentials on the sample (PGlite)', () => {
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  let counter = 0;
  const email = () => `credentials${++counter}@example.com`;
  const login = (address: string, password = PASSWORD, otp?: string) => http.post('/auth/login').set(json).send({ email: address, password, otp });
  const storedHash = async (address: string) => (await asOwner<{ password_hash: string }>(app, 'SELECT password_hash FROM users WHERE email = $1', [address]))[0].password_hash;
  const failure = (promise: Promise<unknown>) => promise.then(() => 'no error', (error: { code?: string }) => error.code ?? String(error));

  beforeAll(async () => {
    app = await createSampleApp('express', false);
    http = request(app.getHttpServer());
  });
  afterAll(() => app?.close());

  it('stores a registered password peppered, and the app\'s own role can read no hash', async () => {
    const address = email();
    await http.post('/auth/register').set(json).send({ email: address, password: PASSWORD }).expect(201);
    expect(await storedHash(address)).toMatch(/^zp1\$[0-9a-f]{8}\$argon2id\$v=19\$/);
    await login(address).expect(200);
    await login(address, 'wrong horse battery').expect(401);
    expect(await failure(app.get(DataSource).query('SELECT password_hash FROM users'))).toBe('42501');
    expect(await failure(app.get(DataSource).query(`UPDATE users SET scopes = '{users:admin}'`))).toBe('42501');
  });

  it('signs in a user whose hash predates the pepper, and re-hashes it peppered; a wrong password changes nothing', async () => {
    const address = email();
    const legacy = await hash(PASSWORD, { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 });
    await asOwner(app, 'INSERT INTO users (id, email, password_hash) VALUES ($1, $2, $3)', [randomUUID(), address, legacy]);
    // An account of before the pepper is an account of before e-mail verification too, where the sample has it.
    await asOwner(app, `DO $$ BEGIN IF EXISTS (SELECT FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'email_verified_at') THEN
      UPDATE users SET email_verified_at = now() WHERE email_verified_at IS NULL; END IF; END $$`);
    await login(address, 'wrong horse battery').expect(401);
    expect(await storedHash(address)).toBe(legacy);
    await login(address).expect(200);
    const peppered = await storedHash(address);
    expect(peppered).toMatch(/^zp1\$/);
    await login(address).expect(200);
    expect(await storedHash(address)).toBe(peppered);
  });

  it('changes scopes through the operator route only: the database checks the operator\'s scope and records who did it', async () => {
    const admin = email();
    await http.post('/auth/register').set(json).send({ email: admin, password: PASSWORD }).expect(201);
    await asOwner(app, `UPDATE users SET scopes = '{users:admin}' WHERE email = $1`, [admin]);
    const plain = (await login(admin).expect(200)).body.accessToken as string;
    const { secret } = (await http.post('/auth/mfa/enroll').set(bearer(plain)).expect(201)).body;
    await http.post('/auth/mfa/confirm').set(bearer(plain)).set(json).send({ code: totpCode(secret, totpStep()) }).expect(200);
    const operator = (await login(admin, PASSWORD, totpCode(secret, totpStep() + 1)).expect(200)).body.accessToken as string;
    const target = email();
    await http.post('/auth/register').set(json).send({ email: target, password: PASSWORD }).expect(201);
    const [{ id: targetId }] = await asOwner<{ id: string }>(app, 'SELECT id FROM users WHERE email = $1', [target]);
    const [{ id: adminId }] = await asOwner<{ id: string }>(app, 'SELECT id FROM users WHERE email = $1', [admin]);

    await http.put(`/admin/users/${targetId}/scopes`).set(bearer(operator)).set(json).send({ scopes: ['notes:admin'] }).expect(204);
    const [event] = await asOwner<{ subject: string; details: Record<string, unknown> }>(
      app,
      `SELECT subject, details FROM zt_audit_log WHERE type = 'grants.changed' AND subject = $1 ORDER BY id DESC LIMIT 1`,
      [targetId],
    );
    expect(event).toMatchObject({ subject: targetId, details: { table: 'users', changes: { scopes: { old: [], new: ['notes:admin'] } }, actor: adminId } });
    // MFA turned on for the operator above was recorded too.
    const [mfa] = await asOwner(app, `SELECT details FROM zt_audit_log WHERE type = 'grants.changed' AND subject = $1 AND details->>'table' = 'zt_mfa_factors'`, [adminId]);
    expect(mfa).toMatchObject({ details: { changes: { mfa: { old: false, new: true } } } });
  });
});

/**
 * Issue 13, item 3: recovery codes could be reused. Eight parallel logins with one recovery code gave
 * eight sessions, and two different codes used in parallel brought a spent code back (the code list was
 * read, filtered and written back). Each code is now its own row, spent by one conditional UPDATE
 * (`MfaStore.useRecoveryCode`). On PGlite here; on PostgreSQL in mfa-recovery-codes-postgres.spec.ts.
 */
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCode, totpStep } from '../../lib/mfa/totp.js';
import { createSampleApp } from '../../sample/src/app.factory.js';
import { mfaUser } from '../sessions/sample-accounts.js';
import { asOwner } from '../support/sample-database.js';
import { PLATFORMS } from '../support/test-app.js';

process.env.ZT_DB = 'memory';
process.env.ZT_AUTH_RATE_LIMIT = '10000';
const PASSWORD = 'correct horse battery';
const json = { 'Content-Type': 'application/json' };

describe.each(PLATFORMS)('13.3: one-time recovery codes (%s)', (platform) => {
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  let counter = 0;
  const email = () => `recovery${++counter}-${platform}@example.com`;
  const loginWith = (login: string, otp: string) => http.post('/auth/login').set(json).send({ email: login, password: PASSWORD, otp });

  beforeAll(async () => {
    app = await createSampleApp(platform, false);
    http = request(app.getHttpServer());
  });
  afterAll(() => app?.close());

  it('13.3: eight parallel logins with one recovery code give exactly one session', async () => {
    const user = await mfaUser(http, email());
    const results = await Promise.all(Array.from({ length: 8 }, () => loginWith(user.email, user.recoveryCodes[0])));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 401)).toHaveLength(7);
    await loginWith(user.email, user.recoveryCodes[0]).expect(401);
  });

  it('13.3: two different codes used in parallel each work once, and neither comes back', async () => {
    const user = await mfaUser(http, email());
    const [a, b] = await Promise.all([loginWith(user.email, user.recoveryCodes[1]), loginWith(user.email, user.recoveryCodes[2])]);
    expect([a.status, b.status]).toEqual([200, 200]);
    await loginWith(user.email, user.recoveryCodes[1]).expect(401);
    await loginWith(user.email, user.recoveryCodes[2]).expect(401);
    await loginWith(user.email, user.recoveryCodes[3]).expect(200);
  });

  it('13.3: codes are stored one hashed row each, the spent ones marked, none in clear', async () => {
    const user = await mfaUser(http, email());
    await loginWith(user.email, user.recoveryCodes[4]).expect(200);
    const [{ id }] = await app.get(DataSource).query('SELECT id FROM users WHERE email = $1', [user.email]);
    // Read as an operator: the app's role sees a subject's codes only under that subject's signed identity.
    const rows = await asOwner<{ code_hash: string; used_at: Date | null }>(app, 'SELECT code_hash, used_at FROM zt_recovery_codes WHERE subject = $1', [id]);
    expect(rows).toHaveLength(10);
    expect(rows.filter((row: { used_at: Date | null }) => row.used_at !== null)).toHaveLength(1);
    const stored = JSON.stringify(rows);
    for (const code of user.recoveryCodes) expect(stored).not.toContain(code);
  });

  it('13.3: a parallel burst of different codes and the same TOTP code spends each at most once', async () => {
    const user = await mfaUser(http, email());
    const totp = totpCode(user.secret, totpStep() + 1);
    const results = await Promise.all([
      ...Array.from({ length: 4 }, () => loginWith(user.email, totp)),
      ...Array.from({ length: 4 }, () => loginWith(user.email, user.recoveryCodes[5])),
    ]);
    expect(results.slice(0, 4).filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.slice(4).filter((r) => r.status === 200)).toHaveLength(1);
  });
});

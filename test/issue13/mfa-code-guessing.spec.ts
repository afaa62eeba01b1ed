/**
 * Issue 13, item 1: second-factor guessing was unlimited per account. With the password, 40 wrong codes
 * from 6 addresses were followed by a successful login: the failure count was cleared as soon as the
 * password was right, before the code was checked, and only the per-address limit remained. Now a wrong
 * code counts against the account like a wrong password (from any address), only a whole successful
 * login clears the count, and `accounts.codeGuesses` bounds the codes one account may try per window
 * even with the lockout off.
 */
import type { INestApplication } from '@nestjs/common';
import { ManualClock, MemoryStore, MfaStore, TypeOrmMfaStore } from 'nestjs-zero-trust';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { totpCode, totpStep } from '../../lib/mfa/totp.js';
import { createSampleApp } from '../../sample/src/app.factory.js';
import { createAccountsApp, HARNESS_PASSWORD } from '../sessions/accounts-app.js';
import { mfaUser, SAMPLE_PASSWORD as PASSWORD } from '../sessions/sample-accounts.js';
import { auditEvents } from '../support/sample-database.js';
import { PLATFORMS } from '../support/test-app.js';

process.env.ZT_DB = 'memory';
process.env.ZT_AUTH_RATE_LIMIT = '10000';
// Behind one proxy: X-Forwarded-For names the client, so the attack can come from many addresses.
process.env.ZT_TRUST_PROXY = '1';
const json = { 'Content-Type': 'application/json' };
/** One address of each of six IPv6 /64 networks: six separate per-address buckets. */
const ADDRESSES = Array.from({ length: 6 }, (_, i) => `2001:db8:${i + 1}::1`);
const wrongCode = (secret: string) => {
  const current = new Set([-1, 0, 1].map((offset) => totpCode(secret, totpStep() + offset)));
  return ['000000', '111111', '222222', '333333'].find((code) => !current.has(code))!;
};

describe.each(PLATFORMS)('13.1: second-factor guessing on the sample (%s)', (platform) => {
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  let counter = 0;
  const email = () => `guess${++counter}-${platform}@example.com`;
  const attempt = (address: string, body: Record<string, unknown>, from = ADDRESSES[0]) =>
    http.post('/auth/login').set(json).set('X-Forwarded-For', from).send({ email: address, ...body });

  beforeAll(async () => {
    app = await createSampleApp(platform, false);
    http = request(app.getHttpServer());
  });
  afterAll(() => app?.close());

  it('13.1: with the password, wrong codes from six addresses lock the account; the right code is then refused', async () => {
    const user = await mfaUser(http, email());
    const guess = wrongCode(user.secret);
    for (let i = 0; i < 40; i++) await attempt(user.email, { password: PASSWORD, otp: guess }, ADDRESSES[i % ADDRESSES.length]).expect(401);
    // The right code (a step the enrolment did not spend), and a recovery code: both refused now.
    await attempt(user.email, { password: PASSWORD, otp: totpCode(user.secret, totpStep() + 1) }, ADDRESSES[5]).expect(401);
    await attempt(user.email, { password: PASSWORD, otp: user.recoveryCodes[0] }, ADDRESSES[2]).expect(401);
    expect((await auditEvents(app, 'auth.lockout', 1)).length).toBe(1);
  });

  it('13.1: a right password no longer clears the failures: only a whole successful login does', async () => {
    const user = await mfaUser(http, email());
    const guess = wrongCode(user.secret);
    for (let i = 0; i < 3; i++) await attempt(user.email, { password: `wrong password ${i}` }).expect(401);
    // The right password with a wrong code: before the fix this cleared the three failures.
    await attempt(user.email, { password: PASSWORD, otp: guess }, ADDRESSES[1]).expect(401);
    await attempt(user.email, { password: 'wrong password 4' }, ADDRESSES[2]).expect(401);
    // Five failures: locked, the right password and code included.
    await attempt(user.email, { password: PASSWORD, otp: totpCode(user.secret, totpStep() + 1) }, ADDRESSES[3]).expect(401);
  });

  it('13.1: a whole successful login clears the count', async () => {
    const user = await mfaUser(http, email());
    const guess = wrongCode(user.secret);
    for (let i = 0; i < 4; i++) await attempt(user.email, { password: PASSWORD, otp: guess }, ADDRESSES[i]).expect(401);
    await attempt(user.email, { password: PASSWORD, otp: totpCode(user.secret, totpStep() + 1) }).expect(200);
    for (let i = 0; i < 4; i++) await attempt(user.email, { password: PASSWORD, otp: guess }, ADDRESSES[i]).expect(401);
    await attempt(user.email, { password: PASSWORD, otp: user.recoveryCodes[1] }).expect(200);
  });
});

/** The TypeORM adapter behind the port, counting `find`. */
class CountingMfaStore extends MfaStore {
  inner!: MfaStore;
  finds = 0;
  find(subject: string) {
    this.finds++;
    return this.inner.find(subject);
  }
  savePending(subject: string, secret: string) {
    return this.inner.savePending(subject, secret);
  }
  activate(subject: string, pending: string, step: number, hashes: readonly string[]) {
    return this.inner.activate(subject, pending, step, hashes);
  }
  useStep(subject: string, secret: string, step: number) {
    return this.inner.useStep(subject, secret, step);
  }
  useRecoveryCode(subject: string, hash: string) {
    return this.inner.useRecoveryCode(subject, hash);
  }
  replaceRecoveryCodes(subject: string, hashes: readonly string[]) {
    return this.inner.replaceRecoveryCodes(subject, hashes);
  }
  remainingRecoveryCodes(subject: string) {
    return this.inner.remainingRecoveryCodes(subject);
  }
  replaceSecret(subject: string, from: string, to: string) {
    return this.inner.replaceSecret(subject, from, to);
  }
  remove(subject: string) {
    return this.inner.remove(subject);
  }
}

describe.each(PLATFORMS)('13.1: accounts.codeGuesses bounds code guesses with the lockout off (%s)', (platform) => {
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function start(clock: ManualClock) {
    // The MfaStore port, wrapped to count the reads of the factor.
    const store = new CountingMfaStore();
    const started = await createAccountsApp(platform, { zeroTrust: { clock, lockout: false }, accounts: { codeGuesses: { limit: 3, window: 60 }, mfaStore: store } });
    app = started.app;
    store.inner = app.get(TypeOrmMfaStore);
    const account = started.directory.add('holder@example.com');
    // Enrolled through the library's own services, as the app's routes would do it.
    const http = request(app.getHttpServer());
    const first = (await http.post('/login').send({ login: account.login, password: HARNESS_PASSWORD }).expect(200)).body;
    const { secret } = (await http.post('/mfa/enroll').set('Authorization', `Bearer ${first.accessToken}`).expect(201)).body;
    await http.post('/mfa/confirm').set('Authorization', `Bearer ${first.accessToken}`).send({ code: totpCode(secret, totpStep(clock.now())) }).expect(200);
    clock.advance(30_000); // one step on: the enrolment spent the current one
    return { http, account, secret: secret as string, store };
  }
  const right = (secret: string, clock: ManualClock) => totpCode(secret, totpStep(clock.now()));

  it('13.1: after `limit` wrong codes the right one is refused until the window ends', async () => {
    const clock = new ManualClock();
    const { http, account, secret } = await start(clock);
    for (let i = 0; i < 3; i++) await http.post('/login').send({ login: account.login, password: HARNESS_PASSWORD, code: `99999${i}` }).expect(401);
    await http.post('/login').send({ login: account.login, password: HARNESS_PASSWORD, code: right(secret, clock) }).expect(401);
    clock.advance(61_000);
    await http.post('/login').send({ login: account.login, password: HARNESS_PASSWORD, code: right(secret, clock) }).expect(200);
  });

  it('13.1: a parallel burst of twenty codes is looked at no more than `limit` times', async () => {
    const clock = new ManualClock();
    const { http, account, secret, store } = await start(clock);
    const before = store.finds;
    const codes = Array.from({ length: 20 }, (_, i) => (i === 15 ? right(secret, clock) : String(100000 + i)));
    const results = await Promise.all(codes.map((code) => http.post('/login').send({ login: account.login, password: HARNESS_PASSWORD, code })));
    // Each login reads the factor once to learn that MFA is on; each code looked at reads it once more.
    expect(store.finds - before - codes.length).toBe(3);
    expect(results.filter((r) => r.status === 401).length).toBeGreaterThanOrEqual(19);
  });

  it('13.1: a whole successful sign-in gives the account its guesses back', async () => {
    const clock = new ManualClock();
    const { http, account, secret } = await start(clock);
    for (let i = 0; i < 2; i++) await http.post('/login').send({ login: account.login, password: HARNESS_PASSWORD, code: `99999${i}` }).expect(401);
    await http.post('/login').send({ login: account.login, password: HARNESS_PASSWORD, code: right(secret, clock) }).expect(200);
    clock.advance(30_000);
    for (let i = 0; i < 2; i++) await http.post('/login').send({ login: account.login, password: HARNESS_PASSWORD, code: `99999${i}` }).expect(401);
    await http.post('/login').send({ login: account.login, password: HARNESS_PASSWORD, code: right(secret, clock) }).expect(200);
  });
});

/** A store whose counters fail: the code budget cannot be read. */
class CountersDownStore extends MemoryStore {
  override async increment(): Promise<number> {
    throw new Error('store down');
  }
}

describe.each(PLATFORMS)('13.1: the code budget when the store is down (%s)', (platform) => {
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function enrolled(options: Parameters<typeof createAccountsApp>[1]) {
    const started = await createAccountsApp(platform, options);
    app = started.app;
    const account = started.directory.add('holder@example.com');
    const http = request(app.getHttpServer());
    const first = (await http.post('/login').send({ login: account.login, password: HARNESS_PASSWORD }).expect(200)).body;
    const { secret } = (await http.post('/mfa/enroll').set('Authorization', `Bearer ${first.accessToken}`).expect(201)).body;
    await http.post('/mfa/confirm').set('Authorization', `Bearer ${first.accessToken}`).send({ code: totpCode(secret, totpStep()) }).expect(200);
    return { http, account, secret: secret as string, audit: started.audit };
  }

  it('13.1: fails closed by default: 503, and no code is looked at', async () => {
    const { http, account, secret, audit } = await enrolled({ zeroTrust: { lockout: false, store: new CountersDownStore() } });
    await http.post('/login').send({ login: account.login, password: HARNESS_PASSWORD, code: totpCode(secret, totpStep() + 1) }).expect(503);
    expect(audit.last('store.unavailable')).toMatchObject({ reason: 'fail_closed', details: { endpoints: 'auth' } });
  });

  it('13.1: with onStoreFailure.auth open, the code is checked (replay protection and the lockout still hold)', async () => {
    const { http, account, secret } = await enrolled({ zeroTrust: { lockout: false, store: new CountersDownStore(), onStoreFailure: { auth: 'open' } } });
    const code = totpCode(secret, totpStep() + 1);
    await http.post('/login').send({ login: account.login, password: HARNESS_PASSWORD, code }).expect(200);
    await http.post('/login').send({ login: account.login, password: HARNESS_PASSWORD, code }).expect(401);
  });
});


/// <reference lib="dom" />
/**
 * Issue 20: passkeys end to end in headless Chromium with a virtual authenticator (DevTools protocol,
 * WebAuthn domain): real `navigator.credentials.create()/get()` ceremonies against the sample, on both
 * adapters. Registration under a recent authentication, sign-in as the first factor (`amr` hwk), step-up
 * as the second factor that `@RequireMfa()` accepts; and the attacks: a replayed assertion, another
 * user's credential, a counter going backwards, a forged user handle. Each refusal changes nothing.
 */
import type { INestApplication } from '@nestjs/common';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, type CDPSession, chromium, type Page } from 'playwright-core';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSampleApp } from '../../sample/src/app.factory.js';
import { asOwner } from '../support/sample-database.js';
import { PLATFORMS } from '../support/test-app.js';
import { json, PASSWORD, snapshot } from './lifecycle-support.js';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const claims = (token: string) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as { amr?: string[]; sub: string };

type Json = Record<string, unknown>;

/** The page's side of a ceremony: the options from the server in, `PublicKeyCredential.toJSON()` out. */
const create = (page: Page, options: Json) =>
  page.evaluate(async (given) => {
    const credential = (await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(given as never) })) as PublicKeyCredential;
    return credential.toJSON() as unknown as Json;
  }, options);
const get = (page: Page, options: Json) =>
  page.evaluate(async (given) => {
    const credential = (await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(given as never) })) as PublicKeyCredential;
    return credential.toJSON() as unknown as Json;
  }, options);

describe.skipIf(!existsSync(CHROMIUM) && !process.env.CI).each(PLATFORMS)('issue 20: passkeys in headless Chromium (%s)', (platform) => {
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  let cdp: CDPSession;
  let authenticatorId: string;
  /** The virtual authenticator keeps at most 3 discoverable credentials: the test frees the slot of one it is done with. */
  let opsCredential = '';

  const bearer = (token: string) => ({ ...json, Authorization: `Bearer ${token}` });
  const passkeySnapshot = async () => (await snapshot(app)) + JSON.stringify(await asOwner(app, 'SELECT credential_id, subject, counter, last_used_at FROM zt_passkeys ORDER BY credential_id'));

  async function user(email: string) {
    await http.post('/auth/register').set(json).send({ email, password: PASSWORD }).expect(201);
    return (await http.post('/auth/login').set(json).send({ email, password: PASSWORD }).expect(200)).body.accessToken as string;
  }
  async function registerPasskey(token: string) {
    const options = (await http.post('/account/passkeys/registration-options').set(bearer(token)).send({}).expect(200)).body;
    const credential = await create(page, options);
    await http.post('/account/passkeys').set(bearer(token)).send({ credential, name: 'virtual authenticator' }).expect(201);
    return credential.id as string;
  }
  async function signInAssertion() {
    const options = (await http.post('/account/passkeys/sign-in-options').set(json).send({}).expect(200)).body;
    return get(page, options);
  }

  beforeAll(async () => {
    const port = await freePort();
    process.env.ZT_DB = 'memory';
    process.env.ZT_AUTH_RATE_LIMIT = '10000';
    // Nothing listens there: the page is served by the browser's request interception below.
    process.env.ZT_PUBLIC_URL = `http://localhost:${port}`;
    app = await createSampleApp(platform, false);
    http = request(app.getHttpServer());
    profile = mkdtempSync(join(tmpdir(), 'zt-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [...FLAGS, `--host-resolver-rules=MAP localhost 127.0.0.1`],
    });
    page = context.pages()[0] ?? (await context.newPage());
    // The site's page (the relying party's origin): the API is a separate origin and sends a
    // Permissions-Policy that forbids WebAuthn in its own documents, as an API should.
    await page.route(`http://localhost:${port}/**`, (route) => route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>sample front end</title>' }));
    await page.goto(`http://localhost:${port}/`);
    cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    ({ authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    }));
  }, 120_000);
  afterAll(async () => {
    await context?.close();
    await app?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('registers a passkey under a recent authentication, lists it, and signs in with it as the first factor (amr hwk)', async () => {
    const token = await user('alice@example.com');
    const id = await registerPasskey(token);
    const list = (await http.get('/account/passkeys').set(bearer(token)).expect(200)).body;
    expect(list).toEqual([expect.objectContaining({ id, name: 'virtual authenticator', deviceType: 'singleDevice' })]);
    expect(JSON.stringify(list)).not.toMatch(/publicKey|public_key/);
    const session = (await http.post('/account/passkeys/sign-in').set(json).send({ credential: await signInAssertion() }).expect(200)).body;
    expect(claims(session.accessToken)).toMatchObject({ sub: claims(token).sub, amr: ['hwk'] });
    await http.get('/notes').set(bearer(session.accessToken)).expect(200);
  });

  it('satisfies @RequireMfa: a password session is refused the admin route until it steps up with the passkey', async () => {
    const token = await user('ops@example.com');
    opsCredential = await registerPasskey(token);
    await asOwner(app, `UPDATE users SET scopes = '{audit:read}' WHERE email = 'ops@example.com'`);
    const password = (await http.post('/auth/login').set(json).send({ email: 'ops@example.com', password: PASSWORD }).expect(200)).body.accessToken;
    await http.get('/admin/audit').set(bearer(password)).expect(403);
    const options = (await http.post('/account/passkeys/step-up-options').set(bearer(password)).send({}).expect(200)).body;
    const stepped = (await http.post('/account/passkeys/step-up').set(bearer(password)).send({ credential: await get(page, options) }).expect(200)).body;
    expect(claims(stepped.accessToken).amr).toEqual(expect.arrayContaining(['pwd', 'hwk']));
    await http.get('/admin/audit').set(bearer(stepped.accessToken)).expect(200);
    // A passkey sign-in is multi-factor on its own (possession plus the authenticator's user verification).
    const signInOptions = (await http.post('/account/passkeys/sign-in-options').set(json).send({}).expect(200)).body;
    const assertion = await get(page, { ...signInOptions, allowCredentials: [{ id: opsCredential, type: 'public-key' }] });
    const session = (await http.post('/account/passkeys/sign-in').set(json).send({ credential: assertion }).expect(200)).body;
    expect(claims(session.accessToken)).toMatchObject({ sub: claims(password).sub, amr: ['hwk'] });
    await http.get('/admin/audit').set(bearer(session.accessToken)).expect(200);
  });

  it('refuses a replayed assertion, and changes nothing', async () => {
    const assertion = await signInAssertion();
    await http.post('/account/passkeys/sign-in').set(json).send({ credential: assertion }).expect(200);
    const before = await passkeySnapshot();
    await http.post('/account/passkeys/sign-in').set(json).send({ credential: assertion }).expect(401);
    expect(await passkeySnapshot()).toBe(before);
  });

  it('refuses a step-up with another user\'s credential, and changes nothing', async () => {
    await cdp.send('WebAuthn.removeCredential', { authenticatorId, credentialId: Buffer.from(opsCredential, 'base64url').toString('base64') });
    const mallory = await user('mallory@example.com');
    const victim = await user('victim@example.com');
    const victimCredential = await registerPasskey(victim);
    const options = (await http.post('/account/passkeys/step-up-options').set(bearer(mallory)).send({}).expect(404));
    expect(options.status).toBe(404);
    await registerPasskey(mallory);
    const own = (await http.post('/account/passkeys/step-up-options').set(bearer(mallory)).send({}).expect(200)).body;
    // Mallory's page asks the authenticator for the victim's credential with Mallory's challenge.
    const assertion = await get(page, { ...own, allowCredentials: [{ id: victimCredential, type: 'public-key' }] });
    expect(assertion.id).toBe(victimCredential);
    const before = await passkeySnapshot();
    await http.post('/account/passkeys/step-up').set(bearer(mallory)).send({ credential: assertion }).expect(403);
    expect(await passkeySnapshot()).toBe(before);
    // Nor may Mallory remove the victim's passkey: it answers like a missing one.
    await http.delete(`/account/passkeys/${victimCredential}`).set('Authorization', `Bearer ${mallory}`).expect(404);
    expect(await passkeySnapshot()).toBe(before);
  });

  it('refuses an assertion whose signature counter goes backwards (a cloned authenticator), and changes nothing', async () => {
    const [{ credential_id: id }] = await asOwner<{ credential_id: string }>(app, `SELECT credential_id FROM zt_passkeys p JOIN users u ON u.id::text = p.subject WHERE u.email = 'alice@example.com'`);
    await asOwner(app, `UPDATE zt_passkeys SET counter = 1000000 WHERE credential_id = $1`, [id]);
    const options = (await http.post('/account/passkeys/sign-in-options').set(json).send({}).expect(200)).body;
    const assertion = await get(page, { ...options, allowCredentials: [{ id, type: 'public-key' }] });
    const before = await passkeySnapshot();
    await http.post('/account/passkeys/sign-in').set(json).send({ credential: assertion }).expect(401);
    expect(await passkeySnapshot()).toBe(before);
  });

  it('refuses a sign-in whose user handle names another account, and one with no user verification', async () => {
    const options = (await http.post('/account/passkeys/sign-in-options').set(json).send({}).expect(200)).body;
    const assertion = await get(page, options);
    const response = assertion.response as Json;
    const before = await passkeySnapshot();
    await http.post('/account/passkeys/sign-in').set(json).send({ credential: { ...assertion, response: { ...response, userHandle: Buffer.alloc(32, 7).toString('base64url') } } }).expect(401);
    expect(await passkeySnapshot()).toBe(before);
    // Flip the UV bit (flags byte 32 of authenticatorData): the signature no longer matches either way.
    const data = Buffer.from(response.authenticatorData as string, 'base64url');
    data[32] &= ~0x04;
    await http.post('/account/passkeys/sign-in').set(json).send({ credential: { ...assertion, response: { ...response, authenticatorData: data.toString('base64url') } } }).expect(401);
    expect(await passkeySnapshot()).toBe(before);
  });

  it('removes a passkey of the signed-in user; it can sign in no more', async () => {
    const token = (await http.post('/auth/login').set(json).send({ email: 'victim@example.com', password: PASSWORD }).expect(200)).body.accessToken;
    const [passkey] = (await http.get('/account/passkeys').set(bearer(token)).expect(200)).body;
    await http.delete(`/account/passkeys/${passkey.id}`).set('Authorization', `Bearer ${token}`).expect(204);
    expect((await http.get('/account/passkeys').set(bearer(token)).expect(200)).body).toEqual([]);
    const options = (await http.post('/account/passkeys/sign-in-options').set(json).send({}).expect(200)).body;
    const assertion = await get(page, { ...options, allowCredentials: [{ id: passkey.id, type: 'public-key' }] });
    await http.post('/account/passkeys/sign-in').set(json).send({ credential: assertion }).expect(401);
  });
});

import type { INestApplication } from '@nestjs/common';
import { generateKeyPair, generateProof, type KeyPair } from 'dpop';
import { MachineClientService } from 'nestjs-zero-trust';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSampleApp } from '../../sample/src/app.factory.js';
import { PLATFORMS } from '../support/test-app.js';

process.env.ZT_DB = 'memory';
process.env.ZT_AUTH_RATE_LIMIT = '10000';
const PASSWORD = 'correct horse battery';

describe.each(PLATFORMS)('the sample: DPoP login and refresh, a machine client, an API-key route (%s)', (platform) => {
  let app: INestApplication;
  let base: string;
  let key: KeyPair;

  beforeAll(async () => {
    app = await createSampleApp(platform, false);
    await app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
    key = await generateKeyPair('ES256');
  });
  afterAll(() => app?.close());

  const json = { 'content-type': 'application/json' };
  const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${base}${path}`, { method: 'POST', headers: { ...json, ...headers }, body: JSON.stringify(body) });
    return { status: response.status, body: (await response.json().catch(() => ({}))) as Record<string, string> };
  };
  const proof = (path: string, method = 'POST', token?: string) => generateProof(key, `${base}${path}`, method, undefined, token);
  const dpopGet = async (path: string, token: string) => fetch(`${base}${path}`, { headers: { authorization: `DPoP ${token}`, dpop: await proof(path, 'GET', token) } }).then((r) => r.status);

  async function user() {
    const email = `dpop-${Math.random().toString(36).slice(2)}@example.com`;
    expect((await post('/auth/register', { email, password: PASSWORD })).status).toBe(201);
    return email;
  }

  it('logs in with a DPoP proof: every token of the session is bound to the key, refresh included', async () => {
    const email = await user();
    const login = await post('/auth/dpop/login', { email, password: PASSWORD }, { dpop: await proof('/auth/dpop/login') });
    expect(login.status).toBe(200);
    expect(login.body.tokenType).toBe('DPoP');
    expect(await dpopGet('/notes', login.body.accessToken)).toBe(200);
    expect((await fetch(`${base}/notes`, { headers: { authorization: `Bearer ${login.body.accessToken}` } })).status).toBe(401);
    // A stolen refresh token without the key: refused, at either refresh route.
    expect((await post('/auth/refresh', { refreshToken: login.body.refreshToken })).status).toBe(401);
    expect((await post('/auth/dpop/refresh', { refreshToken: login.body.refreshToken })).status).toBe(400);
    const refreshed = await post('/auth/dpop/refresh', { refreshToken: login.body.refreshToken }, { dpop: await proof('/auth/dpop/refresh') });
    expect(refreshed.status).toBe(200);
    expect(await dpopGet('/notes', refreshed.body.accessToken)).toBe(200);
  });

  it('gives a user an API key for the integration route; the key works there and nowhere else', async () => {
    const email = await user();
    const { body: tokens } = await post('/auth/login', { email, password: PASSWORD });
    const created = await post('/integrations/api-keys', { name: 'spreadsheet sync' }, { authorization: `Bearer ${tokens.accessToken}` });
    expect(created.status).toBe(201);
    const whoami = await fetch(`${base}/integrations/whoami`, { headers: { 'x-api-key': created.body.key } });
    expect(whoami.status).toBe(200);
    expect(((await whoami.json()) as { scopes: string[] }).scopes).toEqual(['integrations:whoami']);
    expect((await fetch(`${base}/notes`, { headers: { authorization: `Bearer ${created.body.key}` } })).status).toBe(401);
    expect((await fetch(`${base}/integrations/whoami`, { headers: { 'x-api-key': `${created.body.key.slice(0, -1)}${created.body.key.endsWith("x") ? "y" : "x"}` } })).status).toBe(401);
  });

  it('issues the machine client a token at /oauth/token; the service route sees its identity', async () => {
    const { clientSecret } = await app.get(MachineClientService).register({ id: `stats-${platform}`, name: 'Stats', scopes: ['notes:stats'], authMethod: 'client_secret' });
    const issued = await post('/oauth/token', { grant_type: 'client_credentials', client_id: `stats-${platform}`, client_secret: clientSecret });
    expect(issued.status).toBe(200);
    const response = await fetch(`${base}/service/whoami`, { headers: { authorization: `Bearer ${issued.body.access_token}` } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ subject: `service:stats-${platform}`, clientId: `stats-${platform}`, scopes: ['notes:stats'] });
    expect((await post('/oauth/token', { grant_type: 'client_credentials', client_id: `stats-${platform}`, client_secret: `${clientSecret!.slice(0, -1)}${clientSecret!.endsWith('A') ? 'B' : 'A'}` })).status).toBe(401);
  });
});

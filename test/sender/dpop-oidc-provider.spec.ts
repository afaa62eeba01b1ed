import { generateKeyPair, generateProof } from 'dpop';
import Provider from 'oidc-provider';
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PLATFORMS } from '../support/test-app.js';
import { createDpopApp, type DpopProbe } from './dpop-app.js';

const API = 'https://probe-api.test';
const CLIENT_SECRET = 'a client secret that is long enough for HS256 1234567890';

/**
 * A real OpenID Connect provider (`oidc-provider`) issuing DPoP-bound JWT access tokens through the
 * client-credentials grant: the app, configured with it as an external issuer, must hold its tokens
 * to the same binding as its own.
 */
async function startProvider(): Promise<{ server: Server; issuer: string }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const signing = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'jwk' });
  const provider = new Provider(issuer, {
    clients: [{ client_id: 'm2m', client_secret: CLIENT_SECRET, grant_types: ['client_credentials'], redirect_uris: [], response_types: [], scope: 'notes:read', id_token_signed_response_alg: 'ES256' }],
    jwks: { keys: [{ ...signing, alg: 'ES256', use: 'sig', kid: 'idp-1' }] },
    scopes: ['notes:read'],
    features: {
      clientCredentials: { enabled: true },
      dPoP: { enabled: true },
      devInteractions: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => API,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({ scope: 'notes:read', audience: API, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } }),
      },
    },
  });
  server.on('request', provider.callback());
  return { server, issuer };
}

describe.each(PLATFORMS)('DPoP-bound tokens of an external issuer (oidc-provider) at the API (%s)', (platform) => {
  let idp: { server: Server; issuer: string };
  let probe: DpopProbe;

  beforeAll(async () => {
    idp = await startProvider();
    probe = await createDpopApp(platform, {
      externalIssuers: [{ issuer: idp.issuer, jwksUri: `${idp.issuer}/jwks`, audience: API, allowedScopes: ['notes:read'] }],
    });
  });
  afterAll(async () => {
    await probe?.app.close();
    await new Promise((resolve) => idp?.server.close(resolve));
  });

  async function clientCredentials(key?: CryptoKeyPair) {
    const headers: Record<string, string> = {
      authorization: `Basic ${Buffer.from(`m2m:${CLIENT_SECRET}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    };
    if (key) headers.dpop = await generateProof(key as never, `${idp.issuer}/token`, 'POST');
    const response = await fetch(`${idp.issuer}/token`, { method: 'POST', headers, body: 'grant_type=client_credentials&scope=notes:read' });
    const body = (await response.json()) as { access_token: string; token_type: string };
    expect(response.status, JSON.stringify(body)).toBe(200);
    return body;
  }

  it('accepts the provider\'s DPoP-bound token with a proof by the bound key, and nothing less', async () => {
    const key = await generateKeyPair('ES256');
    const { access_token: token, token_type } = await clientCredentials(key as never);
    expect(token_type).toBe('DPoP');
    expect(JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).cnf.jkt).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const ok = await fetch(`${probe.base}/me`, { headers: { authorization: `DPoP ${token}`, dpop: await generateProof(key, `${probe.base}/me`, 'GET', undefined, token) } });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { subject: string }).subject).toBe('m2m');

    probe.audit.clear();
    expect((await fetch(`${probe.base}/me`, { headers: { authorization: `DPoP ${token}` } })).status).toBe(401);
    expect(probe.audit.last('auth.failure')?.reason).toBe('dpop_proof_missing');
    expect((await fetch(`${probe.base}/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
    expect(probe.audit.last('auth.failure')?.reason).toBe('dpop_bound_token_as_bearer');
    const thief = await generateKeyPair('ES256');
    expect((await fetch(`${probe.base}/me`, { headers: { authorization: `DPoP ${token}`, dpop: await generateProof(thief, `${probe.base}/me`, 'GET', undefined, token) } })).status).toBe(401);
    expect(probe.audit.last('auth.failure')?.reason).toBe('dpop_key_mismatch');
  });

  it("takes the provider's unbound token as a bearer token, except on a route that requires a sender constraint", async () => {
    const { access_token: token, token_type } = await clientCredentials();
    expect(token_type).toBe('Bearer');
    expect((await fetch(`${probe.base}/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect((await fetch(`${probe.base}/strict`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
    expect(probe.audit.last('auth.failure')?.reason).toBe('sender_constraint_required');
  });
});

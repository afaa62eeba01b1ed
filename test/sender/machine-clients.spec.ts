import { Body, Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import { generateKeyPair, generateProof } from 'dpop';
import { exportJWK, generateKeyPair as joseKeyPair, SignJWT } from 'jose';
import { MachineClientService, Public, ServiceTokens } from 'nestjs-zero-trust';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PLATFORMS } from '../support/test-app.js';
import { type ClientsProbe, createClientsApp } from './clients-app.js';

/** The token endpoint as an app writes it: one call. */
@Controller('oauth')
class TokenEndpointController {
  constructor(private readonly clients: MachineClientService) {}

  @Public()
  @HttpCode(200)
  @Post('token')
  token(@Req() request: object, @Res({ passthrough: true }) response: object, @Body() body: Record<string, unknown>) {
    return this.clients.tokenEndpoint(request, response, body ?? {});
  }
}

/** The token endpoint's public URL, as clients name it in `aud` (behind a proxy it is not the socket's). */
const AUDIENCE = 'https://api.test/oauth/token';

describe.each(PLATFORMS)('machine clients: client credentials (%s)', (platform) => {
  let probe: ClientsProbe;
  let clients: MachineClientService;
  let secret: string;
  let endpoint: string;
  const signer = joseKeyPair('ES256');

  beforeAll(async () => {
    probe = await createClientsApp(
      platform,
      {
        sessions: { refreshGracePeriod: 0 },
        machineClients: { tokenEndpoint: AUDIENCE },
        allowedContentTypes: ['application/json', 'application/x-www-form-urlencoded'],
        authFailureLimit: false,
      },
      [TokenEndpointController],
    );
    endpoint = `${probe.base}/oauth/token`;
    clients = probe.app.get(MachineClientService);
    ({ clientSecret: secret } = (await clients.register({ id: 'billing-worker', name: 'Billing', scopes: ['invoices:read', 'invoices:write'], authMethod: 'client_secret' })) as { clientSecret: string });
    const { publicKey } = await signer;
    await clients.register({ id: 'report-job', name: 'Reports', scopes: ['reports:read'], authMethod: 'private_key_jwt', jwks: { keys: [{ ...(await exportJWK(publicKey)), kid: 'r1' }] } });
  });
  afterAll(() => probe?.app.close());

  const basic = (id: string, value: string) => `Basic ${Buffer.from(`${id}:${value}`).toString('base64')}`;
  async function token(form: Record<string, string>, headers: Record<string, string> = {}) {
    const response = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(form).toString() });
    return { status: response.status, body: (await response.json()) as Record<string, string>, headers: response.headers };
  }
  const me = (accessToken: string, scheme = 'Bearer', extra: Record<string, string> = {}) => fetch(`${probe.base}/me`, { headers: { authorization: `${scheme} ${accessToken}`, ...extra } });
  const sessionCount = async () => (await probe.db.query(`SELECT count(*)::int AS n FROM zt_sessions`))[0].n as number;
  async function assertion(claims: Record<string, unknown> = {}, key?: CryptoKey) {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ iss: 'report-job', sub: 'report-job', aud: AUDIENCE, iat: now, exp: now + 120, jti: randomUUID(), ...claims })
      .setProtectedHeader({ alg: 'ES256', kid: 'r1' })
      .sign(key ?? (await signer).privateKey);
  }
  const jwtBearer = (value: string) => ({ grant_type: 'client_credentials', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: value });

  it('issues a token to a client authenticated by HTTP Basic: sub client:<id>, client_id, its scopes; audited', async () => {
    const { status, body, headers } = await token({ grant_type: 'client_credentials' }, { authorization: basic('billing-worker', secret) });
    expect(status).toBe(200);
    expect(headers.get('cache-control')).toBe('no-store');
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 300, scope: 'invoices:read invoices:write' });
    const response = await me(body.access_token);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ subject: 'service:billing-worker', clientId: 'billing-worker', scopes: ['invoices:read', 'invoices:write'] });
    expect(probe.audit.last('client.token_issued')).toMatchObject({ principal: { subject: 'service:billing-worker' }, details: { clientId: 'billing-worker', via: 'token_endpoint' } });
    expect(JSON.stringify(probe.audit.events)).not.toContain(secret);
  });

  it('accepts client_secret_post, grants a requested subset, refuses more than the client holds', async () => {
    const subset = await token({ grant_type: 'client_credentials', client_id: 'billing-worker', client_secret: secret, scope: 'invoices:read' });
    expect(subset.body.scope).toBe('invoices:read');
    const more = await token({ grant_type: 'client_credentials', client_id: 'billing-worker', client_secret: secret, scope: 'invoices:read admin' });
    expect(more.status).toBe(400);
    expect(more.body.message).toBe('invalid_scope');
    expect((await token({ grant_type: 'password', client_id: 'billing-worker', client_secret: secret })).body.message).toBe('unsupported_grant_type');
  });

  it('refuses a secret with one character changed, two authentication methods at once, and changes nothing', async () => {
    const before = await sessionCount();
    const changed = `${secret.slice(0, -1)}${secret.at(-1) === 'A' ? 'B' : 'A'}`;
    const wrong = await token({ grant_type: 'client_credentials' }, { authorization: basic('billing-worker', changed) });
    expect(wrong.status).toBe(401);
    expect(wrong.body.message).toBe('invalid_client');
    expect(probe.audit.last('auth.failure')?.reason).toBe('client_secret_mismatch');
    const both = await token({ grant_type: 'client_credentials', client_id: 'billing-worker', client_secret: secret }, { authorization: basic('billing-worker', secret) });
    expect(both.status).toBe(401);
    expect(probe.audit.last('auth.failure')?.reason).toBe('client_authentication_ambiguous');
    expect(await sessionCount()).toBe(before);
  });

  it('rotates a secret with an overlap: both work until the overlap ends, then only the new one', async () => {
    const { clientSecret: first } = (await clients.register({ id: 'rotating-worker', name: 'R', scopes: ['a'], authMethod: 'client_secret' })) as { clientSecret: string };
    const { clientSecret: next } = await clients.rotateSecret('rotating-worker');
    expect(probe.audit.last('client.secret_rotated')?.principal?.subject).toBe('service:rotating-worker');
    const withSecret = (value: string) => token({ grant_type: 'client_credentials' }, { authorization: basic('rotating-worker', value) }).then((r) => r.status);
    expect(await withSecret(first)).toBe(200);
    expect(await withSecret(next)).toBe(200);
    await probe.db.query(`UPDATE zt_machine_clients SET previous_expires_at = now() - interval '1 second' WHERE id = 'rotating-worker'`);
    expect(await withSecret(first)).toBe(401);
    expect(await withSecret(next)).toBe(200);
  });

  it('revokes a client: no new token, and its outstanding tokens fail at once', async () => {
    const { clientSecret } = (await clients.register({ id: 'doomed-worker', name: 'D', scopes: ['a'], authMethod: 'client_secret' })) as { clientSecret: string };
    const issued = await token({ grant_type: 'client_credentials' }, { authorization: basic('doomed-worker', clientSecret) });
    expect((await me(issued.body.access_token)).status).toBe(200);
    expect(await clients.revoke('doomed-worker', 'compromised')).toBe(true);
    expect(probe.audit.last('client.revoked')).toMatchObject({ reason: 'compromised' });
    expect((await me(issued.body.access_token)).status).toBe(401);
    expect(probe.audit.last('auth.failure')?.reason).toBe('session_revoked');
    const again = await token({ grant_type: 'client_credentials' }, { authorization: basic('doomed-worker', clientSecret) });
    expect(again.status).toBe(401);
    expect(probe.audit.last('auth.failure')?.reason).toBe('client_revoked');
  });

  it('private_key_jwt (RFC 7523): accepts an assertion made by jose, once; refuses a replay, another audience, another key, a long one', async () => {
    const value = await assertion();
    const ok = await token(jwtBearer(value));
    expect(ok.status).toBe(200);
    expect(ok.body.scope).toBe('reports:read');
    const replay = await token(jwtBearer(value));
    expect(replay.status).toBe(401);
    expect(probe.audit.last('auth.failure')?.reason).toBe('client_assertion_replay');
    const refusedFor = async (value: string) => {
      expect((await token(jwtBearer(value))).status).toBe(401);
      return probe.audit.last('auth.failure')?.reason;
    };
    expect(await refusedFor(await assertion({ aud: 'https://elsewhere.test/token' }))).toBe('client_assertion_audience');
    expect(await refusedFor(await assertion({}, (await joseKeyPair('ES256')).privateKey))).toBe('client_assertion_signature');
    expect(await refusedFor(await assertion({ exp: Math.floor(Date.now() / 1000) + 3600 }))).toBe('client_assertion_lifetime');
    expect(await refusedFor(await assertion({ exp: Math.floor(Date.now() / 1000) - 10 }))).toBe('client_assertion_expired');
    expect(await refusedFor(await assertion({ iss: 'billing-worker' }))).toBe('client_assertion_subject');
    expect(await refusedFor(await assertion({ jti: undefined }))).toBe('client_assertion_jti');
  });

  it('is the service identity of microservice messages: same subject, scopes within the client, none once revoked', async () => {
    const tokens = probe.app.get(ServiceTokens);
    const identity = await clients.messageIdentity('billing-worker', 'clients', ['invoices:read']);
    const principal = await tokens.verify(tokens.issue(identity));
    expect(principal.subject).toBe('service:billing-worker');
    expect(principal.scopes).toEqual(['invoices:read']);
    await expect(clients.messageIdentity('billing-worker', 'ledger', ['admin'])).rejects.toThrow(/does not hold admin/);
    await clients.register({ id: 'retired-worker', name: 'R', scopes: ['a'], authMethod: 'client_secret' });
    expect(await clients.isLive('retired-worker')).toBe(true);
    await clients.revoke('retired-worker');
    expect(await clients.isLive('retired-worker')).toBe(false);
    await expect(clients.messageIdentity('retired-worker', 'ledger')).rejects.toThrow(/no live machine client/);
  });

  it('binds the client token to a DPoP key when the client sends a proof', async () => {
    const key = await generateKeyPair('ES256');
    const issued = await token({ grant_type: 'client_credentials' }, { authorization: basic('billing-worker', secret), dpop: await generateProof(key, endpoint, 'POST') });
    expect(issued.body.token_type).toBe('DPoP');
    expect((await me(issued.body.access_token)).status).toBe(401);
    expect((await me(issued.body.access_token, 'DPoP', { dpop: await generateProof(key, `${probe.base}/me`, 'GET', undefined, issued.body.access_token) })).status).toBe(200);
  });
});

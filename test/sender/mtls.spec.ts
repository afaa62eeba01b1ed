import { PGlite } from '@electric-sql/pglite';
import { Body, Controller, Get, HttpCode, type INestApplication, Module, Post, Req, Res } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule, type TypeOrmModuleOptions } from '@nestjs/typeorm';
import {
  Authenticated,
  CurrentUser,
  exclusivePGliteDriver,
  MachineClientService,
  Public,
  TokenService,
  ZeroTrustClients1732000180000,
  ZeroTrustModule,
  type ZeroTrustModuleOptions,
  type ZeroTrustPrincipal,
} from 'nestjs-zero-trust';
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import Provider from 'oidc-provider';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaptureAuditSink } from '../support/capture-audit.sink.js';
import { PLATFORMS, type Platform } from '../support/test-app.js';
import { createDpopApp } from './dpop-app.js';

/** Real certificates, made by openssl for this run: the server's, and two clients'. */
const dir = mkdtempSync(join(tmpdir(), 'zt-mtls-'));
function certificate(name: string) {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.crt`), '-days', '1', '-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  const cert = readFileSync(join(dir, `${name}.crt`), 'utf8');
  return { key: readFileSync(join(dir, `${name}.key`), 'utf8'), cert, x5t: createHash('sha256').update(new X509Certificate(cert).raw).digest('base64url') };
}
const server = certificate('server');
const alice = certificate('alice');
const mallory = certificate('mallory');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

@Controller()
class MtlsController {
  constructor(private readonly clients: MachineClientService) {}

  @Authenticated()
  @Get('me')
  me(@CurrentUser() user: ZeroTrustPrincipal) {
    return { subject: user.subject, cnf: user.claims.cnf ?? null };
  }

  @Public()
  @HttpCode(200)
  @Post('oauth/token')
  token(@Req() request: object, @Res({ passthrough: true }) response: object, @Body() body: Record<string, unknown>) {
    return this.clients.tokenEndpoint(request, response, body ?? {});
  }
}

async function createTlsApp(platform: Platform, audit: CaptureAuditSink, extra: Partial<ZeroTrustModuleOptions> = {}): Promise<{ app: INestApplication; port: number }> {
  const https = { key: server.key, cert: server.cert, requestCert: true, rejectUnauthorized: false };
  const pglite = await PGlite.create();
  const options: ZeroTrustModuleOptions = {
    issuer: 'https://mtls.test',
    audience: 'mtls',
    auditSinks: [audit],
    databasePrivileges: 'off',
    anomalyRules: false,
    authFailureLimit: false,
    allowedContentTypes: ['application/json', 'application/x-www-form-urlencoded'],
    ...extra,
  };
  @Module({
    imports: [
      TypeOrmModule.forRoot({ type: 'postgres', driver: exclusivePGliteDriver(pglite), migrations: [ZeroTrustClients1732000180000], migrationsRun: true, retryAttempts: 0 } as TypeOrmModuleOptions),
      ZeroTrustModule.forRoot(options),
    ],
    controllers: [MtlsController],
  })
  class MtlsModule {}
  let app: INestApplication;
  if (platform === 'fastify') {
    const { FastifyAdapter } = await import('@nestjs/platform-fastify');
    app = await NestFactory.create(MtlsModule, new FastifyAdapter({ https }), { logger: false, abortOnError: false });
  } else {
    app = await NestFactory.create(MtlsModule, { httpsOptions: https, logger: false, abortOnError: false });
  }
  await app.listen(0, '127.0.0.1');
  return { app, port: (app.getHttpServer().address() as AddressInfo).port };
}

/** One HTTPS request over a real TLS handshake, with or without a client certificate. */
function tls(port: number, path: string, options: { client?: { key: string; cert: string }; headers?: Record<string, string>; method?: string; body?: string } = {}) {
  return new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port, path, method: options.method ?? 'GET', ca: server.cert, ...(options.client ? { key: options.client.key, cert: options.client.cert } : {}), headers: options.headers, agent: false },
      (res) => {
        let data = '';
        res.on('data', (chunk) => (data += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data ? JSON.parse(data) : {} }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

describe.each(PLATFORMS)('certificate-bound tokens over real TLS (RFC 8705) (%s)', (platform) => {
  let app: INestApplication;
  let port: number;
  const audit = new CaptureAuditSink();

  beforeAll(async () => {
    ({ app, port } = await createTlsApp(platform, audit));
    await app.get(MachineClientService).register({ id: 'ledger-service', name: 'Ledger', scopes: ['ledger:write'], authMethod: 'self_signed_tls_client_auth', certificateThumbprint: alice.x5t });
  });
  afterAll(() => app?.close());

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  it('accepts a certificate-bound token only over a connection presenting that certificate', async () => {
    const token = app.get(TokenService).issueAccessToken({ subject: 'svc', certificateThumbprint: alice.x5t }).accessToken;
    expect((await tls(port, '/me', { client: alice, headers: bearer(token) })).status).toBe(200);
    expect((await tls(port, '/me', { headers: bearer(token) })).status).toBe(401);
    expect(audit.last('auth.failure')?.reason).toBe('mtls_certificate_missing');
    expect((await tls(port, '/me', { client: mallory, headers: bearer(token) })).status).toBe(401);
    expect(audit.last('auth.failure')?.reason).toBe('mtls_certificate_mismatch');
  });

  it('mTLS client authentication (self_signed_tls_client_auth): the certificate is the credential, the token is bound to it', async () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const issued = await tls(port, '/oauth/token', { method: 'POST', client: alice, headers: form, body: 'grant_type=client_credentials&client_id=ledger-service' });
    expect(issued.status).toBe(200);
    const token = issued.body.access_token as string;
    expect(JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).cnf).toEqual({ 'x5t#S256': alice.x5t });
    expect((await tls(port, '/me', { client: alice, headers: bearer(token) })).status).toBe(200);
    expect((await tls(port, '/me', { client: mallory, headers: bearer(token) })).status).toBe(401);
    const impostor = await tls(port, '/oauth/token', { method: 'POST', client: mallory, headers: form, body: 'grant_type=client_credentials&client_id=ledger-service' });
    expect(impostor.status).toBe(401);
    expect(audit.last('auth.failure')?.reason).toBe('client_certificate_mismatch');
    const revoked = await app.get(MachineClientService).revoke('ledger-service');
    expect(revoked).toBe(true);
    expect((await tls(port, '/oauth/token', { method: 'POST', client: alice, headers: form, body: 'grant_type=client_credentials&client_id=ledger-service' })).status).toBe(401);
    expect(audit.last('auth.failure')?.reason).toBe('client_revoked');
  });
});

/**
 * A real OpenID Connect provider (`oidc-provider`) issuing certificate-bound JWT access tokens (RFC 8705
 * §3) through the client-credentials grant over mutual TLS. Its token endpoint is served over TLS with a
 * client certificate; its JWKS over loopback http, where the app fetches it.
 */
async function startMtlsProvider() {
  const plain = createServer();
  await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(plain.address() as AddressInfo).port}`;
  const signing = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'jwk' });
  const provider = new Provider(issuer, {
    clients: [{ client_id: 'ledger', client_secret: 'a client secret long enough for the provider 0123456789', grant_types: ['client_credentials'], redirect_uris: [], response_types: [], scope: 'ledger:write', tls_client_certificate_bound_access_tokens: true, id_token_signed_response_alg: 'ES256' }],
    jwks: { keys: [{ ...signing, alg: 'ES256', use: 'sig', kid: 'idp-mtls' }] },
    scopes: ['ledger:write'],
    features: {
      clientCredentials: { enabled: true },
      devInteractions: { enabled: false },
      mTLS: {
        enabled: true,
        certificateBoundAccessTokens: true,
        getCertificate: (ctx: { req: { socket: { getPeerCertificate?: () => { raw?: Buffer } } } }) => {
          const peer = ctx.req.socket.getPeerCertificate?.();
          return peer?.raw ? new X509Certificate(peer.raw) : undefined;
        },
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => 'https://mtls-api.test',
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({ scope: 'ledger:write', audience: 'mtls', accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } }),
      },
    },
  });
  plain.on('request', provider.callback());
  const secure = createHttpsServer({ key: server.key, cert: server.cert, requestCert: true, rejectUnauthorized: false }, provider.callback());
  await new Promise<void>((resolve) => secure.listen(0, '127.0.0.1', resolve));
  return { issuer, plain, secure, securePort: (secure.address() as AddressInfo).port };
}

describe.each(PLATFORMS)('certificate-bound tokens of an external issuer (oidc-provider) (%s)', (platform) => {
  let idp: Awaited<ReturnType<typeof startMtlsProvider>>;
  let app: INestApplication;
  let port: number;
  const audit = new CaptureAuditSink();

  beforeAll(async () => {
    idp = await startMtlsProvider();
    ({ app, port } = await createTlsApp(platform, audit, { externalIssuers: [{ issuer: idp.issuer, jwksUri: `${idp.issuer}/jwks`, audience: 'mtls', allowedScopes: ['ledger:write'] }] }));
  });
  afterAll(async () => {
    await app?.close();
    await new Promise((resolve) => idp?.plain.close(resolve));
    await new Promise((resolve) => idp?.secure.close(resolve));
  });

  it("accepts the provider's certificate-bound token only over a connection with that certificate", async () => {
    const issued = await tls(idp.securePort, '/token', {
      method: 'POST',
      client: alice,
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from('ledger:a client secret long enough for the provider 0123456789').toString('base64')}` },
      body: 'grant_type=client_credentials&scope=ledger:write',
    });
    expect(issued.status, JSON.stringify(issued.body)).toBe(200);
    const token = issued.body.access_token as string;
    expect(JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).cnf).toEqual({ 'x5t#S256': alice.x5t });
    const bearer = { authorization: `Bearer ${token}` };
    expect((await tls(port, '/me', { client: alice, headers: bearer })).status).toBe(200);
    expect((await tls(port, '/me', { client: mallory, headers: bearer })).status).toBe(401);
    expect(audit.last('auth.failure')?.reason).toBe('mtls_certificate_mismatch');
    expect((await tls(port, '/me', { headers: bearer })).status).toBe(401);
    expect(audit.last('auth.failure')?.reason).toBe('mtls_certificate_missing');
  });
});

describe('a client certificate forwarded by a TLS-terminating proxy', () => {
  const header = (cert: string) => encodeURIComponent(cert);

  it('is read from a trusted proxy address, and refused from any other peer', async () => {
    const trusted = await createDpopApp('express', { trustProxy: ['127.0.0.1'], senderConstraint: { mtls: { certificateHeader: 'x-client-cert' } } });
    const untrusted = await createDpopApp('fastify', { trustProxy: ['10.0.0.1'], senderConstraint: { mtls: { certificateHeader: 'x-client-cert' } } });
    try {
      const token = trusted.app.get(TokenService).issueAccessToken({ subject: 'svc', certificateThumbprint: alice.x5t }).accessToken;
      const call = (base: string, cert: string) => fetch(`${base}/me`, { headers: { authorization: `Bearer ${token}`, 'x-client-cert': header(cert) } }).then((r) => r.status);
      expect(await call(trusted.base, alice.cert)).toBe(200);
      expect(await call(trusted.base, mallory.cert)).toBe(401);
      expect(trusted.audit.last('auth.failure')?.reason).toBe('mtls_certificate_mismatch');
      expect(await call(untrusted.base, alice.cert)).toBe(401);
      expect(untrusted.audit.last('auth.failure')?.reason).toBe('mtls_untrusted_certificate_header');
    } finally {
      await trusted.app.close();
      await untrusted.app.close();
    }
  });

  it('needs trustProxy as a list of addresses', async () => {
    await expect(createDpopApp('express', { trustProxy: 1, senderConstraint: { mtls: { certificateHeader: 'x-client-cert' } } })).rejects.toThrow(/needs `trustProxy` as a list/);
  });
});

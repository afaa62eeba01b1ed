import { Controller, Get, Module } from '@nestjs/common';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CurrentUser, type ExternalIssuerOptions, PrincipalClaims, Roles, Scopes, ZeroTrustModule, type ZeroTrustPrincipal } from 'nestjs-zero-trust';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forgeToken, nowSeconds, rs256 } from '../support/jwt-forge.js';
import { bootstrapApp, PLATFORMS } from '../support/test-app.js';

@Controller()
class ReportsController {
  @Scopes('read:reports')
  @Get('reports')
  reports(@CurrentUser() user: ZeroTrustPrincipal) {
    return { subject: user.subject, scopes: user.scopes, roles: user.roles };
  }

  @Roles('report-admin')
  @Get('admin')
  admin() {
    return { ok: true };
  }
}

const AUDIENCE = 'reports-api';
/**
 * What this API lets these providers grant (issue 13.7: an external issuer's scopes and roles count only
 * through an explicit per-issuer allow-list). The presets decide where scopes and roles are read from;
 * the allow-lists decide which of them count.
 */
const GRANTS = { allowedScopes: ['openid', 'read:reports', 'write:reports'], allowedRoles: ['report-admin'] };
const provider = generateKeyPairSync('rsa', { modulusLength: 2048 });

describe.each(PLATFORMS)('claims of external issuers map to scopes and roles through presets (%s)', (platform) => {
  let jwks: Server;
  let jwksUri: string;
  beforeAll(async () => {
    jwks = createServer((_req, res) => {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ keys: [{ ...provider.publicKey.export({ format: 'jwk' }), kid: 'idp-1', alg: 'RS256', use: 'sig' }] }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    jwksUri = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`;
  });
  afterAll(() => new Promise((resolve) => jwks.close(resolve)));

  const tokenFrom = (issuer: string, claims: Record<string, unknown>) =>
    forgeToken(
      { alg: 'RS256', typ: 'at+jwt', kid: 'idp-1' },
      { iss: issuer, aud: AUDIENCE, sub: 'idp|42', iat: nowSeconds(), exp: nowSeconds() + 300, jti: randomUUID(), ...claims },
      rs256(provider.privateKey),
    );

  async function appFor(issuer: Omit<ExternalIssuerOptions, 'jwksUri' | 'audience'>) {
    @Module({
      imports: [ZeroTrustModule.forRoot({ issuer: 'https://api.test', audience: 'own', anomalyRules: false, externalIssuers: [{ ...issuer, jwksUri, audience: AUDIENCE }] })],
      controllers: [ReportsController],
    })
    class AppModule {}
    return bootstrapApp(AppModule, platform);
  }

  it('Auth0: the API permissions are scopes; roles come from the namespaced claim named', async () => {
    const issuer = 'https://tenant.auth0.test/';
    const app = await appFor({ issuer, claims: PrincipalClaims.auth0({ rolesClaim: 'https://reports.test/roles' }), ...GRANTS });
    try {
      const token = tokenFrom(issuer, { scope: 'openid', permissions: ['read:reports'], 'https://reports.test/roles': ['report-admin'] });
      const response = await request(app.getHttpServer()).get('/reports').set('Authorization', `Bearer ${token}`).expect(200);
      expect(response.body).toEqual({ subject: 'idp|42', scopes: ['openid', 'read:reports'], roles: ['report-admin'] });
      await request(app.getHttpServer()).get('/admin').set('Authorization', `Bearer ${token}`).expect(200);
      // Without the permission, the token's `scope` alone does not grant it.
      const weaker = tokenFrom(issuer, { scope: 'openid', permissions: [] });
      await request(app.getHttpServer()).get('/reports').set('Authorization', `Bearer ${weaker}`).expect(403);
    } finally {
      await app.close();
    }
  });

  it('Keycloak: realm roles are roles; another client\'s roles are never taken', async () => {
    const issuer = 'https://keycloak.test/realms/acme';
    const app = await appFor({ issuer, claims: PrincipalClaims.keycloak({ clientId: 'reports-api' }), requireAccessTokenType: false, ...GRANTS });
    try {
      const admin = tokenFrom(issuer, { scope: 'read:reports', realm_access: { roles: ['report-admin'] } });
      await request(app.getHttpServer()).get('/admin').set('Authorization', `Bearer ${admin}`).expect(200);
      const viaClient = tokenFrom(issuer, { resource_access: { 'reports-api': { roles: ['report-admin'] } } });
      await request(app.getHttpServer()).get('/admin').set('Authorization', `Bearer ${viaClient}`).expect(200);
      const otherClient = tokenFrom(issuer, { resource_access: { 'billing-api': { roles: ['report-admin'] } } });
      await request(app.getHttpServer()).get('/admin').set('Authorization', `Bearer ${otherClient}`).expect(403);
    } finally {
      await app.close();
    }
  });

  it('Entra ID: scp is space-delimited scopes, roles are app roles, the subject is oid', async () => {
    const issuer = 'https://login.microsoftonline.test/tenant/v2.0';
    const app = await appFor({ issuer, claims: 'entra', ...GRANTS });
    try {
      const token = tokenFrom(issuer, { scp: 'read:reports write:reports', roles: ['report-admin'], oid: '00000000-0000-0000-0000-000000000042' });
      const response = await request(app.getHttpServer()).get('/reports').set('Authorization', `Bearer ${token}`).expect(200);
      expect(response.body).toEqual({ subject: '00000000-0000-0000-0000-000000000042', scopes: ['read:reports', 'write:reports'], roles: ['report-admin'] });
    } finally {
      await app.close();
    }
  });

  it('13.7: a preset maps claims, but without an allow-list for the issuer nothing it maps is granted', async () => {
    const issuer = 'https://tenant.auth0.test/';
    const app = await appFor({ issuer, claims: PrincipalClaims.auth0({ rolesClaim: 'https://reports.test/roles' }) });
    try {
      const token = tokenFrom(issuer, { scope: 'openid', permissions: ['read:reports'], 'https://reports.test/roles': ['report-admin'] });
      await request(app.getHttpServer()).get('/reports').set('Authorization', `Bearer ${token}`).expect(403);
      await request(app.getHttpServer()).get('/admin').set('Authorization', `Bearer ${token}`).expect(403);
    } finally {
      await app.close();
    }
  });

  it('the standard mapping ignores provider-specific claims (no role from permissions, no scope from roles)', async () => {
    const issuer = 'https://plain.test';
    const app = await appFor({ issuer, ...GRANTS });
    try {
      const token = tokenFrom(issuer, { permissions: ['read:reports'], realm_access: { roles: ['report-admin'] } });
      await request(app.getHttpServer()).get('/reports').set('Authorization', `Bearer ${token}`).expect(403);
      await request(app.getHttpServer()).get('/admin').set('Authorization', `Bearer ${token}`).expect(403);
    } finally {
      await app.close();
    }
  });
});

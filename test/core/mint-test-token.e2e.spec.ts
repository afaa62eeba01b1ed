import { Controller, Get, Module } from '@nestjs/common';
import { Authenticated, CurrentUser, mintTestToken, RequireMfa, Scopes, ZeroTrustModule, type ZeroTrustPrincipal } from 'nestjs-zero-trust';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { bootstrapApp } from '../support/test-app.js';

@Controller()
class ProbeController {
  @Authenticated()
  @Get('me')
  me(@CurrentUser() user: ZeroTrustPrincipal) {
    return { subject: user.subject, scopes: user.scopes };
  }

  @Scopes('reports:read')
  @Get('reports')
  reports() {
    return { ok: true };
  }

  @RequireMfa()
  @Get('sensitive')
  sensitive() {
    return { ok: true };
  }
}

async function appIn(environment: string) {
  @Module({ imports: [ZeroTrustModule.forRoot({ issuer: 'https://issuer.test', audience: 'testing', environment, anomalyRules: false, keys: environment === 'production' ? [{ kid: 'k', alg: 'HS256', secret: 's'.repeat(40) }] : undefined, algorithms: environment === 'production' ? ['HS256'] : undefined })], controllers: [ProbeController] })
  class AppModule {}
  return bootstrapApp(AppModule, 'express');
}

describe('mintTestToken: tokens for an app\'s own e2e tests', () => {
  it('mints a token the app accepts, through every check, with the scopes and methods asked for', async () => {
    const app = await appIn('test');
    try {
      const token = await mintTestToken(app, { subject: 'user-1', scopes: ['reports:read'] });
      const me = await request(app.getHttpServer()).get('/me').set('Authorization', `Bearer ${token}`).expect(200);
      expect(me.body).toEqual({ subject: 'user-1', scopes: ['reports:read'] });
      await request(app.getHttpServer()).get('/reports').set('Authorization', `Bearer ${token}`).expect(200);
      // A password-only token does not pass @RequireMfa; asking for the methods does.
      await request(app.getHttpServer()).get('/sensitive').set('Authorization', `Bearer ${token}`).expect(403);
      const mfa = await mintTestToken(app, { subject: 'user-1', authMethods: ['pwd', 'otp', 'mfa'] });
      await request(app.getHttpServer()).get('/sensitive').set('Authorization', `Bearer ${mfa}`).expect(200);
    } finally {
      await app.close();
    }
  });

  it('is refused when the app runs in production', async () => {
    const app = await appIn('production');
    try {
      await expect(mintTestToken(app, { subject: 'user-1' })).rejects.toThrow(/refused when the app runs in production/);
    } finally {
      await app.close();
    }
  });
});

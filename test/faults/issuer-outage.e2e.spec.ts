import type { INestApplication } from '@nestjs/common';
import { ManualClock, MetricsService } from 'nestjs-zero-trust';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaptureAuditSink } from '../support/capture-audit.sink.js';
import { forgeToken, nowSeconds, rs256 } from '../support/jwt-forge.js';
import { createProbeApp } from '../support/test-app.js';
import { freePort } from './own-services.js';

const IDP = 'https://idp.outage.test';
const AUDIENCE = 'outage-via-idp';

/**
 * Issue 15 (known gap): an external issuer whose JWKS endpoint cannot be reached while the keys held are
 * stale answered 401, so OAuth clients threw good tokens away, the audit trail filled with
 * `auth.failure`, and the client's address spent its failed-authentication budget over the provider's
 * outage. Now: 503 with Retry-After, reported once per incident (`issuer_unavailable`), counted nowhere
 * as a client failure. The JWKS server is the test's own; the test stops it and starts it again.
 */
describe('an external issuer whose JWKS endpoint is down', () => {
  const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const clock = new ManualClock();
  let port: number;
  let jwks: Server | undefined;
  let app: INestApplication;
  let audit: CaptureAuditSink;
  const token = () =>
    forgeToken(
      { alg: 'RS256', typ: 'at+jwt', kid: 'k1' },
      { iss: IDP, aud: AUDIENCE, sub: 'idp-user', iat: nowSeconds(), exp: nowSeconds() + 600, jti: randomUUID() },
      rs256(keys.privateKey),
    );
  const startJwks = async () => {
    jwks = createServer((_request, response) => {
      response.setHeader('Content-Type', 'application/json');
      response.end(JSON.stringify({ keys: [{ ...keys.publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256', use: 'sig' }] }));
    });
    await new Promise<void>((resolve) => jwks!.listen(port, '127.0.0.1', resolve));
  };
  const stopJwks = () => new Promise((resolve) => jwks!.close(resolve));

  beforeAll(async () => {
    port = await freePort();
    await startJwks();
    ({ app, audit } = await createProbeApp('express', {
      clock,
      externalIssuers: [{ issuer: IDP, jwksUri: `http://127.0.0.1:${port}/jwks.json`, audience: AUDIENCE, cacheTtl: 1, minRefetchInterval: 0, timeout: 0.5 }],
      authFailureLimit: { limit: 3, window: 60 },
    }));
  });
  afterAll(async () => {
    await app?.close();
    if (jwks?.listening) await stopJwks();
  });

  it('15: answers 503 with Retry-After (never 401), writes no auth.failure and spends no failure budget', async () => {
    const me = (bearer: string) => request(app.getHttpServer()).get('/me').set('Authorization', `Bearer ${bearer}`);
    const seen = token();
    await me(seen).expect(200);

    await stopJwks();
    clock.advance(2_000);
    audit.clear();
    // More requests than the failure budget allows: none of them is the client's fault.
    for (let i = 0; i < 6; i++) {
      for (const bearer of [seen, token()]) {
        const response = await me(bearer);
        expect(response.status).toBe(503);
        expect(response.headers['retry-after']).toBe('5');
        expect(response.headers['www-authenticate']).toBeUndefined();
        expect(response.body).toEqual({ statusCode: 503, message: 'Service Unavailable', error: 'Service Unavailable' });
      }
    }
    expect(audit.events.filter((event) => event.type === 'auth.failure' || event.type === 'rate_limit.exceeded')).toEqual([]);
    expect(await app.get(MetricsService).metrics()).toContain('zt_http_incidents_total{kind="unavailable:issuer_unavailable"} 12');

    // The provider comes back: the same tokens work at once (no budget was spent, nothing was blocked).
    await startJwks();
    await me(seen).expect(200);
    await me(token()).expect(200);
  });
});

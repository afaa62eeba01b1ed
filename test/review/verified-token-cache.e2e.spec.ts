/**
 * Attack: JwtAuthGuard's verified-token cache re-checks only expiry and (own tokens) the session on a
 * hit. For an external issuer the trust in a token also depends on the issuer's key still being
 * published: when the provider rotates a key out (e.g. after a compromise) or cannot be reached once
 * the fetched keys are stale, `JwksKeySource.find()` refuses every token of that key ("fails closed")
 * but a token that happened to be verified before keeps being accepted from the cache until its `exp`.
 */
import { generateKeyPairSync, type KeyObject, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type INestApplication } from '@nestjs/common';
import { ManualClock } from 'nestjs-zero-trust';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CaptureAuditSink } from '../support/capture-audit.sink.js';
import { forgeToken, nowSeconds, rs256 } from '../support/jwt-forge.js';
import { createProbeApp, PLATFORMS } from '../support/test-app.js';

const IDP = 'https://idp.review.test';
const IDP_AUDIENCE = 'review-via-idp';
const rsa = () => generateKeyPairSync('rsa', { modulusLength: 2048 });

describe.each(PLATFORMS)('verified-token cache and external issuer keys (%s)', (platform) => {
  const published = new Map<string, { privateKey: KeyObject; publicKey: KeyObject }>();
  let jwks: Server;
  let jwksUrl: string;
  let providerUp = true;
  let app: INestApplication;
  let audit: CaptureAuditSink;
  let clock: ManualClock;

  const idpToken = (kid: string, signer: KeyObject) =>
    forgeToken(
      { alg: 'RS256', typ: 'at+jwt', kid },
      { iss: IDP, aud: IDP_AUDIENCE, sub: 'idp-user', iat: nowSeconds(), exp: nowSeconds() + 600, jti: randomUUID() },
      rs256(signer),
    );
  const me = (token: string) => request(app.getHttpServer()).get('/me').set('Authorization', `Bearer ${token}`);

  beforeAll(async () => {
    jwks = createServer((_req, res) => {
      if (!providerUp) {
        res.statusCode = 503;
        res.end();
        return;
      }
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ keys: [...published].map(([kid, pair]) => ({ ...pair.publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' })) }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`;
  });
  afterAll(() => new Promise((resolve) => jwks?.close(resolve)));

  const boot = async () => {
    clock = new ManualClock();
    ({ app, audit } = await createProbeApp(platform, {
      clock,
      externalIssuers: [{ issuer: IDP, jwksUri: jwksUrl, audience: IDP_AUDIENCE, cacheTtl: 1, minRefetchInterval: 0 }],
    }));
  };
  afterEach(async () => {
    await app?.close();
    published.clear();
    providerUp = true;
  });

  it('refuses a cached token once the provider no longer publishes its key', async () => {
    await boot();
    const compromised = rsa();
    published.set('k-old', compromised);
    const stolen = idpToken('k-old', compromised.privateKey);
    await me(stolen).expect(200); // verified once: now in the cache

    // The provider rotates the key out; our cached keys go stale and are refetched.
    published.delete('k-old');
    published.set('k-new', rsa());
    clock.advance(2_000);

    // Control: a fresh token of the removed key is refused through the full path.
    await me(idpToken('k-old', compromised.privateKey)).expect(401);
    expect(audit.last('auth.failure')?.reason).toBe('unknown_key');
    // The token seen before must be refused as well.
    await me(stolen).expect(401);
  });

  it('fails closed for a cached token too when the provider is down and the keys are stale', async () => {
    await boot();
    const key = rsa();
    published.set('k1', key);
    const token = idpToken('k1', key.privateKey);
    await me(token).expect(200);

    providerUp = false;
    clock.advance(2_000);

    // Control: another token of the same key cannot be checked: 503 (the provider's outage, not an auth.failure).
    await me(idpToken('k1', key.privateKey)).expect(503);
    expect(audit.last('auth.failure')).toBeUndefined();
    // The cached token is not served on keys that can no longer be confirmed either.
    await me(token).expect(503);
  });
});

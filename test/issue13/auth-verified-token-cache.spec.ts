/**
 * Issue 13, item 8: the verified-token cache rechecked only expiry (and the session of our own tokens).
 * After the provider removed its signing key from its JWKS, or while the provider was down and the
 * keys we held were stale, a token accepted once kept being accepted until it expired (up to 3600 s),
 * although the full path refused any fresh token of that key: "fail closed" held only for new tokens.
 * A cached verification must die with the key that made it.
 */
import { type INestApplication } from '@nestjs/common';
import { generateKeyPairSync, type KeyObject, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ManualClock } from 'nestjs-zero-trust';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AccessTokenVerifier } from '../../lib/auth/access-token.verifier.js';
import type { CaptureAuditSink } from '../support/capture-audit.sink.js';
import { forgeToken, rs256 } from '../support/jwt-forge.js';
import { createProbeApp, PLATFORMS } from '../support/test-app.js';

const IDP = 'https://idp.issue13.test';
const IDP_AUDIENCE = 'issue13-via-idp';
const rsa = () => generateKeyPairSync('rsa', { modulusLength: 2048 });

describe.each(PLATFORMS)('verified-token cache bound to the key that verified (%s)', (platform) => {
  const published = new Map<string, { privateKey: KeyObject; publicKey: KeyObject }>();
  let jwks: Server;
  let jwksUrl: string;
  let providerUp = true;
  let fetches = 0;
  let app: INestApplication;
  let audit: CaptureAuditSink;
  let clock: ManualClock;

  const idpToken = (kid: string, signer: KeyObject, sub = 'idp-user') => {
    const now = Math.floor(clock.now() / 1000);
    return forgeToken({ alg: 'RS256', typ: 'at+jwt', kid }, { iss: IDP, aud: IDP_AUDIENCE, sub, iat: now, exp: now + 3000, jti: randomUUID() }, rs256(signer));
  };
  const me = (token: string) => request(app.getHttpServer()).get('/me').set('Authorization', `Bearer ${token}`);

  beforeAll(async () => {
    jwks = createServer((_req, res) => {
      fetches++;
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

  const boot = async (external: { cacheTtl?: number; minRefetchInterval?: number } = {}) => {
    clock = new ManualClock();
    ({ app, audit } = await createProbeApp(platform, {
      clock,
      maxTokenLifetime: 3600,
      externalIssuers: [{ issuer: IDP, jwksUri: jwksUrl, audience: IDP_AUDIENCE, cacheTtl: 600, minRefetchInterval: 0, maxTokenLifetime: 3600, ...external }],
    }));
  };
  afterEach(async () => {
    await app?.close();
    published.clear();
    providerUp = true;
  });

  it('13.8: a cached token dies at once when a refetch shows its key was removed, long before the keys go stale', async () => {
    await boot();
    const compromised = rsa();
    published.set('k-old', compromised);
    const stolen = idpToken('k-old', compromised.privateKey);
    await me(stolen).expect(200);
    await me(stolen).expect(200); // from the cache

    // The provider rotates the compromised key out. Our keys are still fresh (600 s), so nothing would
    // refetch; a token naming the provider's new kid makes us refetch at once.
    published.delete('k-old');
    const next = rsa();
    published.set('k-new', next);
    clock.advance(1_000);
    await me(idpToken('k-new', next.privateKey, 'someone-else')).expect(200);

    // Control: a fresh token of the removed key is refused by the full path...
    await me(idpToken('k-old', compromised.privateKey)).expect(401);
    expect(audit.last('auth.failure')?.reason).toBe('unknown_key');
    // ...and so is the one the cache had seen.
    await me(stolen).expect(401);
    expect(audit.last('auth.failure')?.reason).toBe('unknown_key');
  });

  it('13.8: a cached token dies when the keys pass their max staleness (cacheTtl) while the provider is down', async () => {
    await boot({ cacheTtl: 60 });
    const key = rsa();
    published.set('k1', key);
    const token = idpToken('k1', key.privateKey);
    await me(token).expect(200);
    providerUp = false;
    clock.advance(30_000);
    await me(token).expect(200); // keys still within cacheTtl: both paths accept
    clock.advance(31_000);
    await me(idpToken('k1', key.privateKey)).expect(503);
    await me(token).expect(503);
    expect(audit.last('auth.failure')).toBeUndefined();

    // The provider comes back with the same key: the token is good again, and cached again.
    providerUp = true;
    await me(token).expect(200);
    const verify = vi.spyOn(app.get(AccessTokenVerifier), 'verifyNow');
    await me(token).expect(200);
    expect(verify).not.toHaveBeenCalled();
  });

  it('13.8: a refetch that returns the same keys keeps cached verifications (no needless cryptography)', async () => {
    await boot({ cacheTtl: 60 });
    const key = rsa();
    published.set('k1', key);
    const token = idpToken('k1', key.privateKey);
    await me(token).expect(200);
    clock.advance(61_000);
    await me(idpToken('k1', key.privateKey, 'another')).expect(200); // stale: refetched, same key
    const verify = vi.spyOn(app.get(AccessTokenVerifier), 'verifyNow');
    await me(token).expect(200);
    expect(verify).not.toHaveBeenCalled();
  });

  it('13.8: a stale cache hit refetches through the full path rather than trusting the old keys', async () => {
    await boot({ cacheTtl: 60 });
    const key = rsa();
    published.set('k1', key);
    const token = idpToken('k1', key.privateKey);
    await me(token).expect(200);
    const before = fetches;
    clock.advance(61_000);
    published.delete('k1');
    await me(token).expect(401);
    expect(fetches).toBe(before + 1);
    expect(audit.last('auth.failure')?.reason).toBe('unknown_key');
  });
});

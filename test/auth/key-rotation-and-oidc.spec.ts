import { generateKeyPairSync, type KeyObject, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ManualClock, TokenService } from 'nestjs-zero-trust';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { es256, forgeToken, nowSeconds, rs256 } from '../support/jwt-forge.js';
import { createProbeApp, TEST_AUDIENCE, TEST_ISSUER } from '../support/test-app.js';

const ec = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const rsa = () => generateKeyPairSync('rsa', { modulusLength: 2048 });
const claims = (extra: Record<string, unknown> = {}) => ({ iss: TEST_ISSUER, aud: TEST_AUDIENCE, sub: 'u1', iat: nowSeconds(), exp: nowSeconds() + 300, jti: randomUUID(), ...extra });

describe('signing-key rotation', () => {
  it('keeps tokens of the previous key valid, signs new ones with the new key, and publishes both', async () => {
    const previous = ec();
    const current = ec();
    const { app } = await createProbeApp('express', {
      keys: [
        { kid: 'current', alg: 'ES256', privateKey: current.privateKey },
        { kid: 'previous', alg: 'ES256', publicKey: previous.publicKey },
      ],
    });
    try {
      const old = forgeToken({ alg: 'ES256', typ: 'at+jwt', kid: 'previous' }, claims(), es256(previous.privateKey));
      await request(app.getHttpServer()).get('/me').set('Authorization', `Bearer ${old}`).expect(200);
      const tokens = app.get(TokenService);
      const fresh = tokens.issueAccessToken({ subject: 'u2' }).accessToken;
      expect(JSON.parse(Buffer.from(fresh.split('.')[0], 'base64url').toString()).kid).toBe('current');
      await request(app.getHttpServer()).get('/me').set('Authorization', `Bearer ${fresh}`).expect(200);
      expect(tokens.publicJwks().keys.map((k) => k.kid)).toEqual(['current', 'previous']);
      // A token that claims the previous kid but is signed by some other key is still refused.
      const forged = forgeToken({ alg: 'ES256', typ: 'at+jwt', kid: 'previous' }, claims(), es256(ec().privateKey));
      await request(app.getHttpServer()).get('/me').set('Authorization', `Bearer ${forged}`).expect(401);
    } finally {
      await app.close();
    }
  });
});

describe('external OIDC issuer', () => {
  const IDP = 'https://idp.test';
  const IDP_AUDIENCE = 'notes-via-idp';
  const own = ec();
  const providerKeys = new Map<string, { privateKey: KeyObject; publicKey: KeyObject }>([['p1', rsa()]]);
  let jwks: Server;
  let fetches = 0;
  let jwksUrl: string;

  const idpToken = (kid: string, extra: Record<string, unknown> = {}, header: Record<string, unknown> = {}) =>
    forgeToken({ alg: 'RS256', typ: 'at+jwt', kid, ...header }, claims({ iss: IDP, aud: IDP_AUDIENCE, ...extra }), rs256(providerKeys.get(kid)?.privateKey ?? rsa().privateKey));

  beforeAll(async () => {
    jwks = createServer((_req, res) => {
      fetches++;
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ keys: [...providerKeys].map(([kid, pair]) => ({ ...pair.publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' })) }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`;
  });
  afterAll(() => new Promise((resolve) => jwks?.close(resolve)));

  it('accepts its tokens with keys fetched from the configured URI, cached, and follows its key rotation', async () => {
    const clock = new ManualClock();
    const { app, audit } = await createProbeApp('express', {
      clock,
      keys: [{ kid: 'k1', alg: 'ES256', privateKey: own.privateKey }],
      externalIssuers: [{ issuer: IDP, jwksUri: jwksUrl, audience: IDP_AUDIENCE, minRefetchInterval: 1 }],
    });
    const get = (token: string) => request(app.getHttpServer()).get('/me').set('Authorization', `Bearer ${token}`);
    try {
      fetches = 0;
      expect((await get(idpToken('p1')).expect(200)).body).toMatchObject({ subject: 'u1', issuer: IDP });
      await get(idpToken('p1')).expect(200);
      expect(fetches).toBe(1);

      // The provider rotates to p2. Within minRefetchInterval an unknown kid causes no second fetch...
      providerKeys.set('p2', rsa());
      await get(idpToken('p2')).expect(401);
      expect(audit.last('auth.failure')?.reason).toBe('unknown_key');
      expect(fetches).toBe(1);
      // ...after it (the injected clock moves, nobody sleeps), one refetch picks the new key up.
      clock.advance(1100);
      await get(idpToken('p2')).expect(200);
      expect(fetches).toBe(2);
      await get(idpToken('not-published')).expect(401);
      expect(fetches).toBe(2);
    } finally {
      await app.close();
    }
  });

  it('binds keys, audiences and token types to their issuer', async () => {
    const { app, audit } = await createProbeApp('express', {
      keys: [{ kid: 'k1', alg: 'ES256', privateKey: own.privateKey }],
      externalIssuers: [{ issuer: IDP, jwksUri: jwksUrl, audience: IDP_AUDIENCE }],
    });
    const reason = async (token: string) => {
      await request(app.getHttpServer()).get('/me').set('Authorization', `Bearer ${token}`).expect(401);
      return audit.last('auth.failure')?.reason;
    };
    try {
      // The provider's token carrying this app's own audience is not meant for us through that provider.
      expect(await reason(idpToken('p1', { aud: TEST_AUDIENCE }))).toBe('wrong_audience');
      // Our own key cannot vouch for the provider's issuer, nor the provider's key for ours.
      expect(await reason(forgeToken({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' }, claims({ iss: IDP, aud: IDP_AUDIENCE }), es256(own.privateKey)))).toMatch(/algorithm_not_allowed|unknown_key/);
      expect(await reason(forgeToken({ alg: 'RS256', typ: 'at+jwt', kid: 'p1' }, claims(), rs256(providerKeys.get('p1')!.privateKey)))).toMatch(/algorithm_not_allowed|unknown_key/);
      expect(await reason(idpToken('p1', { iss: 'https://unknown.test' }))).toBe('wrong_issuer');
      expect(await reason(idpToken('p1', {}, { typ: 'JWT' }))).toBe('wrong_type');
      expect(await reason(idpToken('p1', {}, { jku: jwksUrl }))).toBe('forbidden_header');
    } finally {
      await app.close();
    }
  });

  it('accepts typ JWT only when the issuer is configured to', async () => {
    const { app } = await createProbeApp('express', {
      externalIssuers: [{ issuer: IDP, jwksUri: jwksUrl, audience: IDP_AUDIENCE, requireAccessTokenType: false }],
    });
    try {
      await request(app.getHttpServer()).get('/me').set('Authorization', `Bearer ${idpToken('p1', {}, { typ: 'JWT' })}`).expect(200);
    } finally {
      await app.close();
    }
  });

  it('fails closed when the provider is down', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const { app, audit } = await createProbeApp('express', {
      externalIssuers: [{ issuer: IDP, jwksUri: `http://127.0.0.1:${port}/jwks.json`, audience: IDP_AUDIENCE, timeout: 0.5 }],
    });
    try {
      await request(app.getHttpServer()).get('/me').set('Authorization', `Bearer ${idpToken('p1')}`).expect(503);
      // The provider's outage is not the client's failure: 503 + Retry-After, no auth.failure.
      expect(audit.last('auth.failure')).toBeUndefined();
    } finally {
      await app.close();
    }
  });

  it('refuses a plain-http JWKS URI that is not loopback', async () => {
    await expect(
      createProbeApp('express', { externalIssuers: [{ issuer: IDP, jwksUri: 'http://idp.example.com/jwks.json', audience: IDP_AUDIENCE }] }),
    ).rejects.toThrow(/jwksUri must be an https URL/);
  });
});

describe('verified-token cache', () => {
  it('still refuses a cached token once it has expired', async () => {
    const { app, audit } = await createProbeApp('express', { accessTokenTtl: 60 });
    try {
      const token = app.get(TokenService).issueAccessToken({ subject: 'u1' }).accessToken;
      await request(app.getHttpServer()).get('/me').set('Authorization', `Bearer ${token}`).expect(200);
      await request(app.getHttpServer()).get('/me').set('Authorization', `Bearer ${token}`).expect(200); // from the cache
      vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 10 * 60_000 });
      await request(app.getHttpServer()).get('/me').set('Authorization', `Bearer ${token}`).expect(401);
      expect(audit.last('auth.failure')?.reason).toBe('expired');
    } finally {
      vi.useRealTimers();
      await app.close();
    }
  });

  it('does not let a different token ride on a cached one', async () => {
    const { app } = await createProbeApp('express');
    try {
      const token = app.get(TokenService).issueAccessToken({ subject: 'u1' }).accessToken;
      await request(app.getHttpServer()).get('/me').set('Authorization', `Bearer ${token}`).expect(200);
      const [h, p, s] = token.split('.');
      const tampered = `${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), sub: 'admin' })).toString('base64url')}.${s}`;
      await request(app.getHttpServer()).get('/me').set('Authorization', `Bearer ${tampered}`).expect(401);
    } finally {
      await app.close();
    }
  });
});

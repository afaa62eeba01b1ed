/**
 * Issue 13, item 10: failed authentications were not rate limited. One client wrote 17 769 audit rows
 * in 10 s with bad tokens: every one cost a verification, a 401 and an event. Now each address (an
 * IPv4 address or an IPv6 /64) has a budget of failed authentications per window, counted in the
 * store (so instances share it); past it the address gets 429 before anything of it is verified.
 */
import type { INestApplication } from '@nestjs/common';
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ManualClock, MemoryStore, TokenService, type ZeroTrustModuleOptions } from 'nestjs-zero-trust';
import request from 'supertest';
import { describe, expect, it, vi } from 'vitest';
import { AccessTokenVerifier } from '../../lib/auth/access-token.verifier.js';
import { forgeToken, rs256 } from '../support/jwt-forge.js';
import { requireRedisUrl } from '../support/services.js';
import { createProbeApp, PLATFORMS, type Platform } from '../support/test-app.js';

const BAD = 'eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';

async function probe(platform: Platform, options: Partial<ZeroTrustModuleOptions> = {}) {
  const clock = new ManualClock();
  const { app, audit } = await createProbeApp(platform, { clock, trustProxy: 1, ...options });
  const me = (token: string | undefined, address = '198.51.100.7') => {
    const req = request(app.getHttpServer()).get('/me').set('X-Forwarded-For', address);
    return token ? req.set('Authorization', `Bearer ${token}`) : req;
  };
  return { app, audit, clock, me, verify: vi.spyOn(app.get(AccessTokenVerifier), 'verifyNow') };
}

describe.each(PLATFORMS)('failed-authentication budget per address (%s)', (platform) => {
  it('13.10: after the limit an address gets 429 before any token of it is verified, until the window ends', async () => {
    const { app, audit, clock, me, verify } = await probe(platform, { authFailureLimit: { limit: 5, window: 60 } });
    try {
      const valid = app.get(TokenService).issueAccessToken({ subject: 'u1' }).accessToken;
      for (let i = 0; i < 5; i++) await me(i % 2 ? BAD : undefined).expect(401);
      expect(verify).toHaveBeenCalledTimes(2);

      const refused = await me(BAD).expect(429);
      expect(refused.body).toEqual({ statusCode: 429, message: 'Too many requests', error: 'Too Many Requests' });
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
      expect(refused.headers['content-security-policy']).toBeDefined();
      expect(audit.last('rate_limit.exceeded')).toMatchObject({ outcome: 'denied', reason: 'auth_failures', ip: '198.51.100.7' });
      // Even a valid token is not looked at: nothing of this address is verified while it is over budget.
      await me(valid).expect(429);
      await me(undefined).expect(429);
      expect(verify).toHaveBeenCalledTimes(2);

      // Another address, and another IPv6 /64, are not affected; one /64 is one address.
      await me(BAD, '203.0.113.9').expect(401);
      for (let i = 0; i < 5; i++) await me(BAD, `2001:db8:1:2::${i + 1}`).expect(401);
      await me(valid, '2001:db8:1:2:ffff::1').expect(429);
      await me(valid, '2001:db8:1:3::1').expect(200);

      clock.advance(61_000);
      await me(valid).expect(200);
    } finally {
      await app.close();
    }
  });

  it('13.10: a token verified before still passes from an address over budget (a neighbour behind the same NAT)', async () => {
    const { app, me } = await probe(platform, { authFailureLimit: { limit: 3, window: 60, block: 120 } });
    try {
      const tokens = app.get(TokenService);
      const neighbour = tokens.issueAccessToken({ subject: 'neighbour' }).accessToken;
      await me(neighbour).expect(200);
      for (let i = 0; i < 3; i++) await me(BAD).expect(401);
      await me(BAD).expect(429);
      await me(tokens.issueAccessToken({ subject: 'newcomer' }).accessToken).expect(429);
      await me(neighbour).expect(200);
    } finally {
      await app.close();
    }
  });

  it('13.10: is on by default (50 failures a minute)', async () => {
    const { app, me } = await probe(platform);
    try {
      for (let i = 0; i < 50; i++) await me(BAD).expect(401);
      await me(BAD).expect(429);
    } finally {
      await app.close();
    }
  });

  it('13.10: does not count refusals caused by a provider that is down', async () => {
    const down = createServer((_req, res) => {
      res.statusCode = 503;
      res.end();
    });
    await new Promise<void>((resolve) => down.listen(0, '127.0.0.1', resolve));
    const issuer = 'https://down.issue13.test';
    const { app, me } = await probe(platform, {
      authFailureLimit: { limit: 2, window: 60 },
      externalIssuers: [{ issuer, jwksUri: `http://127.0.0.1:${(down.address() as AddressInfo).port}/jwks`, audience: 'probe-api', minRefetchInterval: 0 }],
    });
    try {
      const key = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
      const now = Math.floor(Date.now() / 1000);
      const token = forgeToken({ alg: 'RS256', typ: 'at+jwt', kid: 'k' }, { iss: issuer, aud: 'probe-api', sub: 'u', iat: now, exp: now + 60, jti: randomUUID() }, rs256(key));
      // 503 each time, never 429: the provider's outage spends nothing of the address's budget.
      for (let i = 0; i < 4; i++) await me(token).expect(503);
    } finally {
      await app.close();
      await new Promise((resolve) => down.close(resolve));
    }
  });

  it('13.10: when the store cannot count, onStoreFailure.auth decides (closed: 503; open: the 401, reported)', async () => {
    class DownStore extends MemoryStore {
      override async throttle(): Promise<never> {
        throw new Error('store down');
      }
    }
    for (const [mode, status] of [['closed', 503], ['open', 401]] as const) {
      const { app, audit, me } = await probe(platform, { store: new DownStore(), onStoreFailure: { auth: mode }, throttle: false });
      try {
        await me(BAD).expect(status);
        expect(audit.last('store.unavailable')?.reason).toBe(mode === 'closed' ? 'fail_closed' : 'fail_open');
        // Successful requests never touch the store for the budget.
        await me(app.get(TokenService).issueAccessToken({ subject: 'u1' }).accessToken).expect(200);
      } finally {
        await app.close();
      }
    }
  });

  it('13.10: refuses a budget option that is mistyped', async () => {
    await expect(probe(platform, { authFailureLimit: { limit: '5' } as never })).rejects.toThrow(/authFailureLimit\.limit must be a whole number/);
    await expect(probe(platform, { authFailureLimt: false } as never)).rejects.toThrow(/Did you mean "authFailureLimit"/);
  });
});

const redisUrl = requireRedisUrl();

describe.skipIf(!redisUrl)('failed-authentication budget shared through Redis', () => {
  it('13.10: failures on two instances count together; each verifies at most one more after the budget is spent', async () => {
    const storeKeyPrefix = `zt-test-${randomBytes(6).toString('hex')}:`;
    const options = { store: redisUrl, storeKeyPrefix, trustProxy: 1, authFailureLimit: { limit: 5, window: 60 } } as const;
    const one = await createProbeApp('express', options);
    const two = await createProbeApp('fastify', options);
    const me = (app: INestApplication, token: string) => request(app.getHttpServer()).get('/me').set('X-Forwarded-For', '198.51.100.70').set('Authorization', `Bearer ${token}`);
    try {
      for (const app of [one.app, two.app, one.app, two.app]) await me(app, BAD).expect(401);
      await me(one.app, BAD).expect(401); // the fifth failure: the store now blocks the address, and `one` knows
      await me(one.app, BAD).expect(429);
      await me(two.app, BAD).expect(401); // `two` learns the block from its next count...
      await me(two.app, two.app.get(TokenService).issueAccessToken({ subject: 'u1' }).accessToken).expect(429); // ...and holds it
    } finally {
      await one.app.close();
      await two.app.close();
    }
  });
});

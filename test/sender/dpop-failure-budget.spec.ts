import { generateKeyPair, generateProof, type KeyPair } from 'dpop';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PLATFORMS } from '../support/test-app.js';
import { createDpopApp, type DpopProbe } from './dpop-app.js';

/**
 * Issue 19: a refused DPoP proof is a failed authentication like a bad token, so it counts toward the
 * address's budget (`authFailureLimit`); without that, an attacker holding a stolen bound token could
 * try proofs without limit. What is not the client's fault does not count: `use_dpop_nonce` (the
 * server asks for its nonce; every well-behaved client gets it once per nonce lifetime).
 * And RFC 9449 §7.1: a route that accepts only sender-constrained tokens challenges with the DPoP scheme.
 */
describe.each(PLATFORMS)('DPoP failures and the failed-authentication budget; the DPoP challenge (%s)', (platform) => {
  async function issue(probe: DpopProbe, key: KeyPair, nonce?: string): Promise<string> {
    const response = await fetch(`${probe.base}/token`, { method: 'POST', headers: { dpop: await generateProof(key, `${probe.base}/token`, 'POST', nonce) } });
    expect(response.status).toBe(200);
    return ((await response.json()) as { accessToken: string }).accessToken;
  }
  const call = async (probe: DpopProbe, path: string, headers: Record<string, string>) => {
    const response = await fetch(`${probe.base}${path}`, { headers });
    return { status: response.status, headers: response.headers };
  };

  describe('counting', () => {
    let probe: DpopProbe;
    let client: KeyPair;
    let attacker: KeyPair;
    beforeAll(async () => {
      probe = await createDpopApp(platform, { authFailureLimit: { limit: 3, window: 60 } });
      client = await generateKeyPair('ES256');
      attacker = await generateKeyPair('ES256');
    });
    afterAll(() => probe?.app.close());

    it('blocks an address that keeps presenting a stolen bound token with proofs of its own key, seen before or not', async () => {
      const bound = await issue(probe, client);
      const bearer = ((await (await fetch(`${probe.base}/token`, { method: 'POST' })).json()) as { accessToken: string }).accessToken;
      // The owner's request puts the token in the verified-token cache: the attacker's tries come after it.
      expect((await call(probe, '/me', { authorization: `DPoP ${bound}`, dpop: await generateProof(client, `${probe.base}/me`, 'GET', undefined, bound) })).status).toBe(200);
      expect((await call(probe, '/me', { authorization: `Bearer ${bearer}` })).status).toBe(200);
      for (let i = 0; i < 3; i++) {
        const forged = await generateProof(attacker, `${probe.base}/me`, 'GET', undefined, bound);
        const refused = await call(probe, '/me', { authorization: `DPoP ${bound}`, dpop: forged });
        expect(refused.status).toBe(401);
        expect(probe.audit.last('auth.failure')?.reason).toBe('dpop_key_mismatch');
      }
      probe.audit.clear();
      // Over budget: refused before any proof is verified, the genuine one too (its signature costs cryptography).
      const blocked = await call(probe, '/me', { authorization: `DPoP ${bound}`, dpop: await generateProof(attacker, `${probe.base}/me`, 'GET', undefined, bound) });
      expect(blocked.status).toBe(429);
      expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(probe.audit.last('rate_limit.exceeded')).toMatchObject({ reason: 'auth_failures' });
      expect(probe.audit.last('auth.failure')).toBeUndefined();
      expect((await call(probe, '/me', { authorization: `DPoP ${bound}`, dpop: await generateProof(client, `${probe.base}/me`, 'GET', undefined, bound) })).status).toBe(429);
      // A bearer token verified before costs no cryptography and still passes (a neighbour behind the same NAT).
      expect((await call(probe, '/me', { authorization: `Bearer ${bearer}` })).status).toBe(200);
    });
  });

  it('does not count use_dpop_nonce: the server asking for its nonce is not a failure of the client', async () => {
    const probe = await createDpopApp(platform, { authFailureLimit: { limit: 2, window: 60 }, senderConstraint: { dpop: { nonce: { secret: randomBytes(32).toString('hex') } } } });
    try {
      const key = await generateKeyPair('ES256');
      const first = await fetch(`${probe.base}/token`, { method: 'POST', headers: { dpop: await generateProof(key, `${probe.base}/token`, 'POST') } });
      const nonce = first.headers.get('dpop-nonce')!;
      const bound = await issue(probe, key, nonce);
      for (let i = 0; i < 5; i++) {
        const asked = await call(probe, '/me', { authorization: `DPoP ${bound}`, dpop: await generateProof(key, `${probe.base}/me`, 'GET', undefined, bound) });
        expect(asked.status).toBe(401);
        expect(asked.headers.get('www-authenticate')).toMatch(/^DPoP error="use_dpop_nonce"/);
      }
      const retried = await call(probe, '/me', { authorization: `DPoP ${bound}`, dpop: await generateProof(key, `${probe.base}/me`, 'GET', nonce, bound) });
      expect(retried.status).toBe(200);
    } finally {
      await probe.app.close();
    }
  });

  describe('RFC 9449 §7.1 challenge without a token', () => {
    let probe: DpopProbe;
    beforeAll(async () => {
      probe = await createDpopApp(platform);
    });
    afterAll(() => probe?.app.close());

    it('names the DPoP scheme and its algorithms on a route that requires a sender constraint', async () => {
      const response = await call(probe, '/strict', {});
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('DPoP algs="ES256 EdDSA Ed25519"');
      expect(probe.audit.last('auth.failure')?.reason).toBe('missing_token');
    });

    it('answers an invalid token on that route with the DPoP scheme too', async () => {
      const response = await call(probe, '/strict', { authorization: 'DPoP not.a.token' });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('DPoP error="invalid_token", algs="ES256 EdDSA Ed25519"');
    });

    it('keeps the Bearer challenge where bearer tokens are accepted', async () => {
      expect((await call(probe, '/relaxed', {})).headers.get('www-authenticate')).toBe('Bearer');
    });
  });

  it('names both schemes on a strict route when certificate-bound (Bearer-scheme) tokens can be checked', async () => {
    const probe = await createDpopApp(platform, { trustProxy: ['10.0.0.5'], senderConstraint: { mtls: { certificateHeader: 'x-client-cert' } } } as never);
    try {
      expect((await call(probe, '/strict', {})).headers.get('www-authenticate')).toBe('Bearer, DPoP algs="ES256 EdDSA Ed25519"');
    } finally {
      await probe.app.close();
    }
  });

  it('honours the global require option the same way', async () => {
    const probe = await createDpopApp(platform, { senderConstraint: { require: true } });
    try {
      expect((await call(probe, '/me', {})).headers.get('www-authenticate')).toBe('DPoP algs="ES256 EdDSA Ed25519"');
      expect((await call(probe, '/relaxed', {})).headers.get('www-authenticate')).toBe('Bearer');
    } finally {
      await probe.app.close();
    }
  });
});

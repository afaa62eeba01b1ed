import { calculateJwkThumbprint, exportJWK } from 'jose';
import { generateKeyPair, generateProof, type KeyPair } from 'dpop';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forgeToken, es256, nowSeconds } from '../support/jwt-forge.js';
import { PLATFORMS, TEST_AUDIENCE, TEST_ISSUER } from '../support/test-app.js';
import { createDpopApp, type DpopProbe, SIGNING_KEY } from './dpop-app.js';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A proof made by hand, for the shapes the `dpop` library refuses to make (wrong typ, alg, private jwk, old iat). */
function handProof(header: Record<string, unknown>, claims: Record<string, unknown>, key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })) {
  const jwk = key.publicKey.export({ format: 'jwk' });
  const input = `${b64({ typ: 'dpop+jwt', alg: 'ES256', jwk, ...header })}.${b64({ jti: crypto.randomUUID(), iat: nowSeconds(), ...claims })}`;
  return `${input}.${sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

const ath = (token: string) => createHash('sha256').update(token).digest('base64url');

describe.each(PLATFORMS)('DPoP at the API: RFC 9449 proofs made by the `dpop` client library (%s)', (platform) => {
  let probe: DpopProbe;
  let client: KeyPair;
  let attacker: KeyPair;
  /** A DPoP-bound token issued to `client` through the app's own token endpoint. */
  let bound: string;

  async function call(path: string, init: { scheme?: string; token?: string; proof?: string | string[]; method?: string } = {}) {
    const headers: Record<string, string> = {};
    if (init.token) headers.authorization = `${init.scheme ?? 'DPoP'} ${init.token}`;
    if (typeof init.proof === 'string') headers.dpop = init.proof;
    const response = await fetch(`${probe.base}${path}`, { method: init.method ?? 'GET', headers });
    return { status: response.status, body: await response.json().catch(() => undefined), headers: response.headers };
  }

  /** Expects the uniform 401 and returns the audited reason. */
  async function refused(path: string, init: Parameters<typeof call>[1], challenge = /^DPoP error="invalid_dpop_proof", algs="ES256 EdDSA Ed25519"$/) {
    probe.audit.clear();
    const response = await call(path, init);
    expect(response.status).toBe(401);
    expect(response.body).toEqual({ statusCode: 401, message: 'Unauthorized', error: 'Unauthorized' });
    expect(response.headers.get('www-authenticate')).toMatch(challenge);
    return probe.audit.last('auth.failure')?.reason;
  }

  const proofFor = (path: string, token = bound, key = client, method = 'GET') => generateProof(key, `${probe.base}${path}`, method, undefined, token);

  beforeAll(async () => {
    probe = await createDpopApp(platform);
    client = await generateKeyPair('ES256');
    attacker = await generateKeyPair('ES256');
    const proof = await generateProof(client, `${probe.base}/token`, 'POST');
    const response = await fetch(`${probe.base}/token`, { method: 'POST', headers: { dpop: proof } });
    const body = (await response.json()) as { accessToken: string; tokenType: string };
    expect(body.tokenType).toBe('DPoP');
    bound = body.accessToken;
  });
  afterAll(() => probe?.app.close());

  it('issues a token bound to the proof key: cnf.jkt is the RFC 7638 thumbprint jose computes', async () => {
    const claims = JSON.parse(Buffer.from(bound.split('.')[1], 'base64url').toString());
    expect(claims.cnf).toEqual({ jkt: await calculateJwkThumbprint(await exportJWK(client.publicKey)) });
  });

  it('accepts the bound token with a fresh proof on every request, the cached verification too', async () => {
    for (let i = 0; i < 3; i++) {
      const response = await call('/me', { token: bound, proof: await proofFor('/me') });
      expect(response.status).toBe(200);
      expect(response.body.cnf.jkt).toMatch(/^[A-Za-z0-9_-]{43}$/);
    }
  });

  it('accepts proofs made with Ed25519 keys, and refuses RS256 unless listed', async () => {
    for (const alg of ['Ed25519', 'RS256'] as const) {
      const key = await generateKeyPair(alg);
      const issued = await fetch(`${probe.base}/token`, { method: 'POST', headers: { dpop: await generateProof(key, `${probe.base}/token`, 'POST') } });
      // RS256 is not among the default algorithms: the token endpoint refuses the proof.
      if (alg === 'RS256') {
        expect(issued.status).toBe(400);
        expect(probe.audit.last('auth.failure')?.reason).toBe('dpop_algorithm_not_allowed');
        continue;
      }
      const token = ((await issued.json()) as { accessToken: string }).accessToken;
      expect((await call('/me', { token, proof: await proofFor('/me', token, key) })).status).toBe(200);
    }
  });

  it('ignores the query string and normalises htu (RFC 9449 §4.3, RFC 3986 §6.2.2)', async () => {
    const proof = await generateProof(client, `${probe.base.toUpperCase().replace('HTTP', 'http')}/ITEMS/%7e1`.replace('/ITEMS/', '/items/'), 'GET', undefined, bound);
    expect((await call('/items/~1?page=2', { token: bound, proof })).status).toBe(200);
  });

  it('rejects a bound token sent without a proof', async () => {
    expect(await refused('/me', { token: bound })).toBe('dpop_proof_missing');
  });

  it('rejects a bound token sent with the Bearer scheme, even with a valid proof (RFC 9449 §7.2)', async () => {
    expect(await refused('/me', { token: bound, scheme: 'Bearer', proof: await proofFor('/me') }, /^DPoP error="invalid_token"/)).toBe('dpop_bound_token_as_bearer');
  });

  it('rejects a proof made for another method', async () => {
    expect(await refused('/me', { token: bound, proof: await proofFor('/me', bound, client, 'POST') })).toBe('dpop_wrong_method');
  });

  it('rejects a proof made for another URL: another path, another host, another scheme', async () => {
    expect(await refused('/me', { token: bound, proof: await proofFor('/strict') })).toBe('dpop_wrong_uri');
    expect(await refused('/me', { token: bound, proof: await generateProof(client, 'http://evil.test/me', 'GET', undefined, bound) })).toBe('dpop_wrong_uri');
    expect(await refused('/me', { token: bound, proof: await generateProof(client, `${probe.base.replace('http:', 'https:')}/me`, 'GET', undefined, bound) })).toBe('dpop_wrong_uri');
  });

  it('rejects a proof made for another token (ath)', async () => {
    const other = ((await (await fetch(`${probe.base}/token`, { method: 'POST', headers: { dpop: await generateProof(client, `${probe.base}/token`, 'POST') } })).json()) as { accessToken: string }).accessToken;
    expect(await refused('/me', { token: bound, proof: await proofFor('/me', other) })).toBe('dpop_wrong_token');
    expect(await refused('/me', { token: bound, proof: await generateProof(client, `${probe.base}/me`, 'GET') })).toBe('dpop_wrong_token');
  });

  it('rejects a replayed proof, and of two racing requests with one proof exactly one passes', async () => {
    const proof = await proofFor('/me');
    expect((await call('/me', { token: bound, proof })).status).toBe(200);
    expect(await refused('/me', { token: bound, proof })).toBe('dpop_replay');
    const racing = await proofFor('/me');
    const statuses = await Promise.all(Array.from({ length: 6 }, () => call('/me', { token: bound, proof: racing }).then((r) => r.status)));
    expect(statuses.sort()).toEqual([200, 401, 401, 401, 401, 401]);
  });

  it('does not spend the proof of a request refused before the proof was checked', async () => {
    const proof = await proofFor('/me');
    expect(await refused('/me', { token: bound, scheme: 'Bearer', proof }, /invalid_token/)).toBe('dpop_bound_token_as_bearer');
    expect((await call('/me', { token: bound, proof })).status).toBe(200);
  });

  it('rejects a proof whose iat is outside the window, in the past or the future', async () => {
    const jwkKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const token = (await (await fetch(`${probe.base}/token`, { method: 'POST', headers: { dpop: handProof({}, { htm: 'POST', htu: `${probe.base}/token` }, jwkKey) } })).json()) as { accessToken: string };
    const claims = (iat: number) => ({ htm: 'GET', htu: `${probe.base}/me`, ath: ath(token.accessToken), iat });
    expect((await call('/me', { token: token.accessToken, proof: handProof({}, claims(nowSeconds()), jwkKey) })).status).toBe(200);
    expect(await refused('/me', { token: token.accessToken, proof: handProof({}, claims(nowSeconds() - 600), jwkKey) })).toBe('dpop_stale');
    expect(await refused('/me', { token: token.accessToken, proof: handProof({}, claims(nowSeconds() + 600), jwkKey) })).toBe('dpop_stale');
  });

  it("rejects a proof signed by another key: the attacker's own, or the victim's jwk with the attacker's signature", async () => {
    expect(await refused('/me', { token: bound, proof: await proofFor('/me', bound, attacker) }, /invalid_token/)).toBe('dpop_key_mismatch');
    const mine = await proofFor('/me');
    const theirs = await proofFor('/me', bound, attacker);
    const spliced = `${mine.split('.')[0]}.${theirs.split('.')[1]}.${theirs.split('.')[2]}`;
    expect(await refused('/me', { token: bound, proof: spliced })).toBe('dpop_bad_signature');
  });

  it('rejects the token when cnf is stripped: the issuer signature breaks', async () => {
    const [header, payload, signature] = bound.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    delete claims.cnf;
    const stripped = `${header}.${b64(claims)}.${signature}`;
    probe.audit.clear();
    const response = await call('/me', { token: stripped, scheme: 'Bearer' });
    expect(response.status).toBe(401);
    expect(probe.audit.last('auth.failure')?.reason).toBe('bad_signature');
  });

  it('rejects proofs of the wrong type, algorithm or key, or carrying a private key or a key URL', async () => {
    const claims = { htm: 'GET', htu: `${probe.base}/me`, ath: ath(bound) };
    expect(await refused('/me', { token: bound, proof: handProof({ typ: 'JWT' }, claims) })).toBe('dpop_wrong_type');
    expect(await refused('/me', { token: bound, proof: handProof({ alg: 'HS256' }, claims) })).toBe('dpop_algorithm_not_allowed');
    expect(await refused('/me', { token: bound, proof: handProof({ alg: 'none' }, claims).replace(/[^.]+$/, '') })).toBe('dpop_algorithm_not_allowed');
    const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    expect(await refused('/me', { token: bound, proof: handProof({ jwk: key.privateKey.export({ format: 'jwk' }) }, claims, key) })).toBe('dpop_bad_key');
    expect(await refused('/me', { token: bound, proof: handProof({ jku: 'https://evil.test/jwks' }, claims) })).toBe('dpop_proof_malformed');
    expect(await refused('/me', { token: bound, proof: 'not.a.jwt' })).toBe('dpop_proof_malformed');
  });

  it('rejects two DPoP headers', async () => {
    const [a, b] = [await proofFor('/me'), await proofFor('/me')];
    const url = new URL(`${probe.base}/me`);
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest({ host: url.hostname, port: url.port, path: '/me', headers: { authorization: `DPoP ${bound}`, dpop: [a, b] } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(401);
    expect(probe.audit.last('auth.failure')?.reason).toBe('dpop_proof_multiple');
  });

  it('rejects an unbound token presented with the DPoP scheme', async () => {
    const plain = ((await (await fetch(`${probe.base}/token`, { method: 'POST' })).json()) as { accessToken: string; tokenType: string });
    expect(plain.tokenType).toBe('Bearer');
    expect(await refused('/me', { token: plain.accessToken, proof: await proofFor('/me', plain.accessToken) }, /invalid_token/)).toBe('dpop_scheme_unbound_token');
    expect((await call('/me', { token: plain.accessToken, scheme: 'Bearer' })).status).toBe(200);
  });

  it('@RequireSenderConstraint(): a bearer token is refused, a DPoP-bound one with its proof passes', async () => {
    const plain = ((await (await fetch(`${probe.base}/token`, { method: 'POST' })).json()) as { accessToken: string }).accessToken;
    expect(await refused('/strict', { token: plain, scheme: 'Bearer' }, /^DPoP error="invalid_token", algs=/)).toBe('sender_constraint_required');
    expect((await call('/strict', { token: bound, proof: await proofFor('/strict') })).status).toBe(200);
  });

  it('refuses a token bound by a cnf member it cannot check, instead of taking it as a bearer token', async () => {
    const token = forgeToken({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' }, { iss: TEST_ISSUER, aud: TEST_AUDIENCE, sub: 'x', iat: nowSeconds(), exp: nowSeconds() + 300, cnf: { jwk: { kty: 'EC' } } }, es256(SIGNING_KEY));
    expect(await refused('/me', { token, scheme: 'Bearer' }, /invalid_token/)).toBe('unsupported_confirmation');
  });

});

describe.each(PLATFORMS)('DPoP options (%s)', (platform) => {
  it('senderConstraint.require: every authenticated route refuses bearer tokens, except @RequireSenderConstraint(false)', async () => {
    const probe = await createDpopApp(platform, { senderConstraint: { require: true } });
    try {
      const plain = ((await (await fetch(`${probe.base}/token`, { method: 'POST' })).json()) as { accessToken: string }).accessToken;
      const bearer = { authorization: `Bearer ${plain}` };
      expect((await fetch(`${probe.base}/me`, { headers: bearer })).status).toBe(401);
      expect(probe.audit.last('auth.failure')?.reason).toBe('sender_constraint_required');
      expect((await fetch(`${probe.base}/relaxed`, { headers: bearer })).status).toBe(200);
    } finally {
      await probe.app.close();
    }
  });

  it('nonces (RFC 9449 §8): a proof without the server nonce gets use_dpop_nonce and the nonce; retried with it, 200', async () => {
    const secret = 'a shared secret of at least 32 chars!!';
    const probe = await createDpopApp(platform, { senderConstraint: { dpop: { nonce: { secret } } } });
    try {
      const key = await generateKeyPair('ES256');
      // At the token endpoint: 400, the RFC's error code, and the nonce to use.
      const first = await fetch(`${probe.base}/token`, { method: 'POST', headers: { dpop: await generateProof(key, `${probe.base}/token`, 'POST') } });
      expect(first.status).toBe(400);
      expect(((await first.json()) as { message: string }).message).toBe('use_dpop_nonce');
      const nonce = first.headers.get('dpop-nonce')!;
      expect(nonce).toMatch(/^[A-Za-z0-9_-]{30,}$/);
      const issued = await fetch(`${probe.base}/token`, { method: 'POST', headers: { dpop: await generateProof(key, `${probe.base}/token`, 'POST', nonce) } });
      expect(issued.status).toBe(200);
      const { accessToken } = (await issued.json()) as { accessToken: string };
      // At the resource: 401 with the use_dpop_nonce challenge without it, 200 with it.
      const without = await fetch(`${probe.base}/me`, { headers: { authorization: `DPoP ${accessToken}`, dpop: await generateProof(key, `${probe.base}/me`, 'GET', undefined, accessToken) } });
      expect(without.status).toBe(401);
      expect(without.headers.get('www-authenticate')).toMatch(/^DPoP error="use_dpop_nonce"/);
      expect(without.headers.get('dpop-nonce')).toBe(nonce);
      expect(probe.audit.last('auth.failure')?.reason).toBe('dpop_nonce_required');
      const forged = await fetch(`${probe.base}/me`, { headers: { authorization: `DPoP ${accessToken}`, dpop: await generateProof(key, `${probe.base}/me`, 'GET', `${nonce.slice(0, -2)}AA`, accessToken) } });
      expect(forged.status).toBe(401);
      expect(probe.audit.last('auth.failure')?.reason).toBe('dpop_nonce_invalid');
      const ok = await fetch(`${probe.base}/me`, { headers: { authorization: `DPoP ${accessToken}`, dpop: await generateProof(key, `${probe.base}/me`, 'GET', nonce, accessToken) } });
      expect(ok.status).toBe(200);
      expect(ok.headers.get('dpop-nonce')).toBe(nonce);
    } finally {
      await probe.app.close();
    }
  });
});

import type { INestApplication } from '@nestjs/common';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaptureAuditSink } from '../support/capture-audit.sink.js';
import { es256, forgeToken, hs256, nowSeconds, unsigned } from '../support/jwt-forge.js';
import { createProbeApp, PLATFORMS, TEST_AUDIENCE, TEST_ISSUER } from '../support/test-app.js';

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const attacker = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const publicPem = publicKey.export({ type: 'spki', format: 'pem' }) as string;

const header = (extra: Record<string, unknown> = {}) => ({ alg: 'ES256', typ: 'at+jwt', kid: 'k1', ...extra });
const claims = (extra: Record<string, unknown> = {}) => {
  const now = nowSeconds();
  return { iss: TEST_ISSUER, aud: TEST_AUDIENCE, sub: 'user-1', iat: now, exp: now + 300, jti: randomUUID(), ...extra };
};
const valid = (h = header(), c = claims()) => forgeToken(h, c, es256(privateKey));
const without = (object: Record<string, unknown>, key: string) => {
  const { [key]: _removed, ...rest } = object;
  return rest;
};

describe.each(PLATFORMS)('access-token attacks (%s)', (platform) => {
  let app: INestApplication;
  let audit: CaptureAuditSink;
  let jku: Server;
  let jkuHits = 0;

  beforeAll(async () => {
    ({ app, audit } = await createProbeApp(platform, { keys: [{ kid: 'k1', alg: 'ES256', privateKey }] }));
    jku = createServer((_req, res) => {
      jkuHits++;
      res.end(JSON.stringify({ keys: [attacker.publicKey.export({ format: 'jwk' })] }));
    });
    await new Promise<void>((resolve) => jku.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    await app?.close();
    await new Promise((resolve) => jku?.close(resolve));
  });

  /** Sends the token and expects the uniform 401, returning the audited reason. */
  async function rejected(token: string): Promise<string | undefined> {
    audit.clear();
    const response = await request(app.getHttpServer()).get('/me').set('Authorization', `Bearer ${token}`);
    expect(response.status).toBe(401);
    expect(response.body).toEqual({ statusCode: 401, message: 'Unauthorized', error: 'Unauthorized' });
    expect(response.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    const event = audit.last('auth.failure');
    expect(event?.outcome).toBe('failure');
    const signature = token.split('.')[2] ?? '';
    if (signature.length >= 16) expect(JSON.stringify(audit.events)).not.toContain(signature);
    return event?.reason;
  }

  it('accepts a well-formed token and exposes the principal', async () => {
    const token = valid(header(), claims({ sid: 'session-1', scope: 'notes:read notes:write', amr: ['pwd'] }));
    const response = await request(app.getHttpServer()).get('/me').set('Authorization', `Bearer ${token}`).expect(200);
    expect(response.body).toMatchObject({
      subject: 'user-1',
      sessionId: 'session-1',
      scopes: ['notes:read', 'notes:write'],
      authMethods: ['pwd'],
      issuer: TEST_ISSUER,
    });
    expect(audit.last()).toMatchObject({ type: 'auth.success', principal: { subject: 'user-1', sessionId: 'session-1' }, route: '/me' });
  });

  it('answers 401 with a bare Bearer challenge when no token is sent', async () => {
    const response = await request(app.getHttpServer()).get('/me').expect(401);
    expect(response.headers['www-authenticate']).toBe('Bearer');
    expect(audit.last('auth.failure')?.reason).toBe('missing_token');
  });

  it('ignores a token passed in the query string', async () => {
    await request(app.getHttpServer()).get(`/me?access_token=${valid()}`).expect(401);
    expect(audit.last('auth.failure')?.reason).toBe('missing_token');
  });

  it.each(['none', 'None', 'NONE', 'nOnE'])('rejects a token with alg "%s"', async (alg) => {
    expect(await rejected(forgeToken(header({ alg }), claims(), unsigned))).toBe('algorithm_not_allowed');
  });

  it('rejects a token whose signature was stripped', async () => {
    const [h, p] = valid().split('.');
    expect(await rejected(`${h}.${p}.`)).toMatch(/malformed|bad_signature/);
  });

  it('rejects a token whose signature was truncated', async () => {
    const token = valid();
    expect(await rejected(token.slice(0, token.length - 20))).toBe('bad_signature');
  });

  it('rejects a token whose payload was changed after signing', async () => {
    const [h, , s] = valid().split('.');
    const forged = Buffer.from(JSON.stringify(claims({ sub: 'admin' }))).toString('base64url');
    expect(await rejected(`${h}.${forged}.${s}`)).toBe('bad_signature');
  });

  it('rejects HS256 signed with the public key bytes (algorithm confusion)', async () => {
    expect(await rejected(forgeToken(header({ alg: 'HS256' }), claims(), hs256(publicPem)))).toBe('algorithm_not_allowed');
  });

  it('rejects an ES256 signature of 64 zero bytes (CVE-2022-21449)', async () => {
    expect(await rejected(forgeToken(header(), claims(), () => Buffer.alloc(64)))).toBe('bad_signature');
  });

  it('rejects a token signed by another key', async () => {
    expect(await rejected(forgeToken(header(), claims(), es256(attacker.privateKey)))).toBe('bad_signature');
  });

  it('rejects a token that embeds its own key in a jwk header', async () => {
    const jwk = attacker.publicKey.export({ format: 'jwk' });
    expect(await rejected(forgeToken(header({ jwk }), claims(), es256(attacker.privateKey)))).toBe('forbidden_header');
  });

  it('rejects a token with a jku header and never fetches the URL', async () => {
    const url = `http://127.0.0.1:${(jku.address() as AddressInfo).port}/jwks.json`;
    expect(await rejected(forgeToken(header({ jku: url, kid: 'attacker' }), claims(), es256(attacker.privateKey)))).toBe(
      'forbidden_header',
    );
    expect(await rejected(forgeToken(header({ x5u: url }), claims(), es256(attacker.privateKey)))).toBe('forbidden_header');
    expect(jkuHits).toBe(0);
  });

  it.each(['../../../../dev/null', '/etc/passwd', "k1' OR '1'='1", 'K1', 'k1 '])('rejects kid %j', async (kid) => {
    expect(await rejected(forgeToken(header({ kid }), claims(), es256(privateKey)))).toBe('unknown_key');
  });

  it('rejects a non-string kid', async () => {
    expect(await rejected(forgeToken(header({ kid: ['k1'] }), claims(), es256(privateKey)))).toBe('unknown_key');
  });

  it('rejects an expired token', async () => {
    const now = nowSeconds();
    expect(await rejected(valid(header(), claims({ iat: now - 400, exp: now - 100 })))).toBe('expired');
  });

  it('rejects a token whose nbf is in the future', async () => {
    expect(await rejected(valid(header(), claims({ nbf: nowSeconds() + 120 })))).toBe('not_yet_valid');
  });

  it('rejects a token issued in the future', async () => {
    const now = nowSeconds();
    expect(await rejected(valid(header(), claims({ iat: now + 120, exp: now + 400 })))).toBe('issued_in_future');
  });

  it.each(['exp', 'iat', 'sub', 'iss', 'aud'])('rejects a token without %s', async (claim) => {
    const reason = await rejected(valid(header(), without(claims(), claim)));
    // jsonwebtoken reports a missing iss/aud as a mismatch; either way the token is refused.
    expect(reason).toMatch(claim === 'iss' ? /missing_claim|wrong_issuer/ : claim === 'aud' ? /missing_claim|wrong_audience/ : /missing_claim/);
  });

  it('rejects a validly signed token whose lifetime exceeds the maximum', async () => {
    const now = nowSeconds();
    expect(await rejected(valid(header(), claims({ iat: now, exp: now + 3600 })))).toBe('lifetime_exceeded');
  });

  it('rejects a wrong issuer', async () => {
    expect(await rejected(valid(header(), claims({ iss: 'https://evil.test' })))).toBe('wrong_issuer');
  });

  it('rejects a wrong audience (passport-jwt would drop an audience set only in jsonWebTokenOptions)', async () => {
    expect(await rejected(valid(header(), claims({ aud: 'another-api' })))).toBe('wrong_audience');
    expect(await rejected(valid(header(), claims({ aud: ['another-api'] })))).toBe('wrong_audience');
  });

  it.each([undefined, 'JWT', 'rt+jwt', 'id_token+jwt'])('rejects typ %j (only at+jwt is an access token)', async (typ) => {
    const h = typ === undefined ? without(header(), 'typ') : header({ typ });
    expect(await rejected(valid(h))).toBe('wrong_type');
  });

  it('rejects a token with an unknown crit header', async () => {
    expect(await rejected(valid(header({ crit: ['exp'], exp: 1 })))).toBe('unsupported_crit');
  });

  it('rejects garbage', async () => {
    for (const token of ['abc', 'a.b.c', '..', '%%%.%%%.%%%', 'eyJ.eyJ.x']) {
      expect(await rejected(token)).toMatch(/malformed|invalid_token/);
    }
  });
});

describe('key binding', () => {
  it('rejects a token that names an ES256 key but is signed HS256 with its public key, even with HS256 allowed', async () => {
    const secret = 'a'.repeat(48);
    const { app, audit } = await createProbeApp('express', {
      algorithms: ['ES256', 'HS256'],
      keys: [
        { kid: 'k1', alg: 'ES256', privateKey },
        { kid: 'h1', alg: 'HS256', secret },
      ],
    });
    try {
      const confused = forgeToken(header({ alg: 'HS256', kid: 'k1' }), claims(), hs256(publicPem));
      await request(app.getHttpServer()).get('/me').set('Authorization', `Bearer ${confused}`).expect(401);
      expect(audit.last('auth.failure')?.reason).toBe('unknown_key');
      const good = forgeToken(header({ alg: 'HS256', kid: 'h1' }), claims(), hs256(secret));
      await request(app.getHttpServer()).get('/me').set('Authorization', `Bearer ${good}`).expect(200);
    } finally {
      await app.close();
    }
  });

  it('verifies RS256 when configured', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const { app } = await createProbeApp('express', { algorithms: ['RS256'], keys: [{ kid: 'r1', alg: 'RS256', privateKey: rsa.privateKey }] });
    try {
      const { rs256 } = await import('../support/jwt-forge.js');
      const token = forgeToken(header({ alg: 'RS256', kid: 'r1' }), claims(), rs256(rsa.privateKey));
      await request(app.getHttpServer()).get('/me').set('Authorization', `Bearer ${token}`).expect(200);
      const es = forgeToken(header(), claims(), es256(privateKey));
      await request(app.getHttpServer()).get('/me').set('Authorization', `Bearer ${es}`).expect(401);
    } finally {
      await app.close();
    }
  });

  it('keeps two apps in one process apart: each verifies only with its own keys', async () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const a = await createProbeApp('express', { keys: [{ kid: 'k1', alg: 'ES256', privateKey }] });
    const b = await createProbeApp('express', { keys: [{ kid: 'k1', alg: 'ES256', privateKey: other.privateKey }] });
    try {
      const forA = valid();
      await request(a.app.getHttpServer()).get('/me').set('Authorization', `Bearer ${forA}`).expect(200);
      await request(b.app.getHttpServer()).get('/me').set('Authorization', `Bearer ${forA}`).expect(401);
      expect(a.audit.last()?.type).toBe('auth.success');
      expect(b.audit.last()?.type).toBe('auth.failure');
    } finally {
      await a.app.close();
      await b.app.close();
    }
  });
});

/**
 * Issue 13, item 21 (first half): `Authorization: Bearer <token> <junk>` must be refused, not read as
 * `<token>`. RFC 6750 §2.1: `credentials = "Bearer" 1*SP b64token`, one token and nothing after it;
 * RFC 9110 §11.6.2: Authorization is a single field, so a request carrying two is ambiguous (a proxy
 * may read one, the app the other) and is refused too.
 */
import type { INestApplication } from '@nestjs/common';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TokenService } from 'nestjs-zero-trust';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearerToken } from '../../lib/auth/bearer-token.js';
import type { CaptureAuditSink } from '../support/capture-audit.sink.js';
import { createProbeApp, PLATFORMS } from '../support/test-app.js';

/** Sends raw header lines (supertest joins or drops repeated ones), returning the status. */
function rawGet(app: INestApplication, headers: Array<[string, string]>): Promise<number> {
  const { port } = app.getHttpServer().address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/me', method: 'GET', headers: [['Host', `127.0.0.1:${port}`], ...headers].flat() as unknown as Record<string, string> }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('bearerToken (the one parser of the Authorization header)', () => {
  const token = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2lnbmF0dXJl';
  const req = (authorization: unknown, rawHeaders: string[] = ['Authorization', String(authorization)]) => ({ headers: { authorization }, rawHeaders });

  it('13.21: reads `Bearer <b64token>`, scheme case-insensitive, and nothing else', () => {
    expect(bearerToken(req(`Bearer ${token}`))).toEqual({ token });
    expect(bearerToken(req(`bEaReR ${token}`))).toEqual({ token });
    expect(bearerToken(req(`Bearer ${token}==`))).toEqual({ token: `${token}==` });
    expect(bearerToken(req(undefined, []))).toEqual({ refused: 'missing_token' });
    expect(bearerToken(req(`Basic dXNlcjpwYXNz`))).toEqual({ refused: 'missing_token' });
  });

  it.each([
    ['a space and junk', `Bearer ${token} junk`],
    ['a tab and junk', `Bearer ${token}\tjunk`],
    ['a second token', `Bearer ${token} ${token}`],
    ['a comma list', `Bearer ${token},Bearer ${token}`],
    ['characters outside b64token', `Bearer ${token}"`],
    ['padding in the middle', `Bearer ab==cd.${token}`],
    ['a non-breaking space', `Bearer ${token}\u00a0junk`],
    ['no token at all', 'Bearer'],
    ['only spaces', 'Bearer    '],
  ])('13.21: refuses a Bearer header with %s', (_name, header) => {
    expect(bearerToken(req(header))).toEqual({ refused: 'malformed' });
  });

  it('13.21: refuses two Authorization fields even when the first is well formed', () => {
    expect(bearerToken(req(`Bearer ${token}`, ['Authorization', `Bearer ${token}`, 'authorization', 'Bearer junk']))).toEqual({ refused: 'malformed' });
  });
});

describe.each(PLATFORMS)('Authorization header with trailing junk (%s)', (platform) => {
  let app: INestApplication;
  let audit: CaptureAuditSink;
  let token: string;

  beforeAll(async () => {
    ({ app, audit } = await createProbeApp(platform));
    await app.listen(0, '127.0.0.1');
    token = app.get(TokenService).issueAccessToken({ subject: 'u1' }).accessToken;
  });
  afterAll(() => app?.close());

  const me = (authorization: string) => request(app.getHttpServer()).get('/me').set('Authorization', authorization);

  it('13.21: refuses `Bearer <token> <junk>`, before and after the token was verified once (the cache path)', async () => {
    await me(`Bearer ${token} junk`).expect(401);
    expect(audit.last('auth.failure')?.reason).toBe('malformed');
    await me(`Bearer ${token}`).expect(200);
    for (const header of [`Bearer ${token} junk`, `Bearer ${token}\tjunk`, `Bearer ${token} ${token}`, `Bearer ${token},x`]) {
      const response = await me(header);
      expect(response.status, JSON.stringify(header.replace(token, '<token>'))).toBe(401);
      expect(response.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
      expect(audit.last('auth.failure')?.reason).toBe('malformed');
    }
  });

  it('13.21: refuses a request with two Authorization header lines', async () => {
    expect(await rawGet(app, [['Authorization', `Bearer ${token}`]])).toBe(200);
    expect(await rawGet(app, [['Authorization', `Bearer ${token}`], ['Authorization', 'Bearer junk']])).toBe(401);
    expect(await rawGet(app, [['Authorization', 'Bearer junk'], ['Authorization', `Bearer ${token}`]])).toBe(401);
  });
});

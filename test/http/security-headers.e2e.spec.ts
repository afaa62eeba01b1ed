import type { INestApplication } from '@nestjs/common';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { ServerResponse } from 'node:http';
import { DEFAULT_SECURITY_HEADERS } from '../../lib/http/security-headers.js';
import request, { type Response } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { es256, forgeToken, nowSeconds } from '../support/jwt-forge.js';
import { createProbeApp, PLATFORMS, TEST_AUDIENCE, TEST_ISSUER } from '../support/test-app.js';

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const token = () =>
  forgeToken(
    { alg: 'ES256', typ: 'at+jwt', kid: 'k1' },
    { iss: TEST_ISSUER, aud: TEST_AUDIENCE, sub: 'u1', iat: nowSeconds(), exp: nowSeconds() + 60, jti: randomUUID() },
    es256(privateKey),
  );

function expectSecurityHeaders(response: Response, expected: Record<string, string> = DEFAULT_SECURITY_HEADERS) {
  for (const [name, value] of Object.entries(expected)) {
    expect(response.headers[name.toLowerCase()], `${name} on ${response.status}`).toBe(value);
  }
  expect(response.headers['x-powered-by']).toBeUndefined();
  expect(response.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
}

describe.each(PLATFORMS)('security headers on every response (%s)', (platform) => {
  let app: INestApplication;

  beforeAll(async () => {
    ({ app } = await createProbeApp(platform, { keys: [{ kid: 'k1', alg: 'ES256', privateKey }] }));
  });
  afterAll(() => app?.close());

  it('200 of a public route', async () => {
    expectSecurityHeaders(await request(app.getHttpServer()).get('/open').expect(200));
  });

  it('200 of an authenticated route', async () => {
    expectSecurityHeaders(await request(app.getHttpServer()).get('/me').set('Authorization', `Bearer ${token()}`).expect(200));
  });

  it('401 from the guard (guards run before interceptors)', async () => {
    expectSecurityHeaders(await request(app.getHttpServer()).get('/me').expect(401));
  });

  it('403 thrown by a handler', async () => {
    const response = await request(app.getHttpServer()).get('/forbidden').set('Authorization', `Bearer ${token()}`).expect(403);
    expectSecurityHeaders(response);
    expect(response.body).toEqual({ statusCode: 403, message: 'Not yours', error: 'Forbidden' });
  });

  it('404 of an unknown route', async () => {
    const response = await request(app.getHttpServer()).get('/no/such/route').expect(404);
    expectSecurityHeaders(response);
    expect(Object.keys(response.body).sort()).toEqual(['error', 'message', 'statusCode']);
  });

  it('404 of an unknown route even with a valid token and an odd method', async () => {
    expectSecurityHeaders(await request(app.getHttpServer()).put('/open').set('Authorization', `Bearer ${token()}`).expect(404));
  });

  it('413 of a body over the limit', async () => {
    const response = await request(app.getHttpServer())
      .post('/items')
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ title: 'x'.repeat(200 * 1024) }))
      .expect(413);
    expectSecurityHeaders(response);
  });

  it('415 of a body that is not JSON', async () => {
    const response = await request(app.getHttpServer()).post('/items').set('Content-Type', 'text/plain').send('title=x').expect(415);
    expectSecurityHeaders(response);
  });

  it('400 of malformed JSON', async () => {
    const response = await request(app.getHttpServer()).post('/items').set('Content-Type', 'application/json').send('{"title":').expect(400);
    expectSecurityHeaders(response);
    expect(response.body.statusCode).toBe(400);
    expect(response.body.stack).toBeUndefined();
  });

  it('500 with a generic body: no stack, no SQL, no message of the internal error', async () => {
    const response = await request(app.getHttpServer()).get('/crash').expect(500);
    expectSecurityHeaders(response);
    expect(response.body).toEqual({ statusCode: 500, message: 'Internal server error', error: 'Internal Server Error' });
    expect(response.text).not.toMatch(/select|secrets|at .*\.ts/i);
  });

  it('a per-route override changes only that route', async () => {
    const response = await request(app.getHttpServer()).get('/cacheable').expect(200);
    expect(response.headers['cache-control']).toBe('public, max-age=60');
    expect(response.headers['cross-origin-embedder-policy']).toBeUndefined();
    expect(response.headers['content-security-policy']).toBe(DEFAULT_SECURITY_HEADERS['Content-Security-Policy']);
  });

  it('never echoes a client-supplied request id', async () => {
    const response = await request(app.getHttpServer()).get('/open').set('X-Request-Id', 'forged-by-client').expect(200);
    expect(response.headers['x-request-id']).not.toContain('forged');
  });

  it('writes each header once per request: the server gate writes them, the middleware does not repeat them (issue 16)', async () => {
    const calls = new Map<string, number>();
    const original = ServerResponse.prototype.setHeader;
    ServerResponse.prototype.setHeader = function (this: ServerResponse, name: string, value: number | string | readonly string[]) {
      calls.set(name.toLowerCase(), (calls.get(name.toLowerCase()) ?? 0) + 1);
      return original.call(this, name, value);
    };
    try {
      expectSecurityHeaders(await request(app.getHttpServer()).get('/me').set('Authorization', `Bearer ${token()}`).expect(200));
    } finally {
      ServerResponse.prototype.setHeader = original;
    }
    for (const name of [...Object.keys(DEFAULT_SECURITY_HEADERS), 'X-Request-Id']) expect(calls.get(name.toLowerCase()), name).toBe(1);
  });

});

describe('app-wide header overrides', () => {
  it('replaces or removes a default for every route', async () => {
    const { app } = await createProbeApp('express', {
      keys: [{ kid: 'k1', alg: 'ES256', privateKey }],
      securityHeaders: { 'Content-Security-Policy': "default-src 'self'", 'Cross-Origin-Embedder-Policy': false },
    });
    try {
      for (const path of ['/open', '/me']) {
        const response = await request(app.getHttpServer()).get(path);
        expect(response.headers['content-security-policy']).toBe("default-src 'self'");
        expect(response.headers['cross-origin-embedder-policy']).toBeUndefined();
        expect(response.headers['x-frame-options']).toBe('DENY');
      }
    } finally {
      await app.close();
    }
  });
});

describe('security headers without the server gate', () => {
  it("are still written when no server gate saw the request (Fastify's inject())", async () => {
    const { app } = await createProbeApp('fastify', { keys: [{ kid: 'k1', alg: 'ES256', privateKey }] });
    try {
      const injected = await (app.getHttpAdapter().getInstance() as { inject(options: object): Promise<{ statusCode: number; headers: Record<string, string> }> }).inject({ method: 'GET', url: '/open' });
      expect(injected.statusCode).toBe(200);
      for (const [name, value] of Object.entries(DEFAULT_SECURITY_HEADERS)) expect(injected.headers[name.toLowerCase()], name).toBe(value);
      expect(injected.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      await app.close();
    }
  });
});

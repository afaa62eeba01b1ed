/**
 * Attack: responses the framework writes before any Nest middleware runs. Fastify's router answers a
 * URL it cannot decode (`/%E0%A4%A`, `/items/%`) itself (FST_ERR_BAD_URL, fastify.js onBadUrl: a raw
 * `res.writeHead(400)`), so the response has none of the security headers, no X-Request-Id, and the
 * framework's own body shape (`code: FST_ERR_BAD_URL`) instead of the module's `{statusCode, message, error}`.
 * Express answers the same URLs through the module (headers, request id, uniform body).
 */
import { type INestApplication } from '@nestjs/common';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProbeApp, PLATFORMS } from '../support/test-app.js';

describe.each(PLATFORMS)('framework-produced errors carry the security headers (%s)', (platform) => {
  let app: INestApplication;
  beforeAll(async () => {
    ({ app } = await createProbeApp(platform));
  });
  afterAll(() => app?.close());

  it.each(['/%E0%A4%A', '/items/%'])('400 for an undecodable URL %s has the headers, a request id and the uniform body', async (path) => {
    const response = await request(app.getHttpServer()).get(path);
    expect(response.status).toBe(400);
    expect(response.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(Object.keys(response.body).sort()).toEqual(['error', 'message', 'statusCode']);
  });
});

/**
 * Issue 13, item 18: responses the framework writes itself, before or around Nest. Fastify's router
 * answers a URL it cannot percent-decode (400) or an over-long route parameter (414) with a raw
 * `writeHead`, so no hook, middleware or filter ever saw them: no security headers, and a response a
 * page could frame. Every answer of the app must carry the headers, on both adapters.
 *
 * What Node's HTTP parser answers before any listener runs (431 for an oversize header block, 400 for
 * a malformed request line) is outside every app; the last test pins down what it is.
 */
import { Controller, Get, type INestApplication, Module, Param, Post, Body } from '@nestjs/common';
import { IsString } from 'class-validator';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import request, { type Response } from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Public, ZeroTrustModule } from 'nestjs-zero-trust';
import { DEFAULT_SECURITY_HEADERS } from '../../lib/http/security-headers.js';
import { bootstrapApp, PLATFORMS, type Platform } from '../support/test-app.js';

class ThingDto {
  @IsString()
  name!: string;
}

@Controller('things')
class ThingsController {
  @Public()
  @Get(':id')
  get(@Param('id') id: string) {
    return { id };
  }

  @Public()
  @Post()
  create(@Body() dto: ThingDto) {
    return dto;
  }
}

async function createApp(platform: Platform): Promise<INestApplication> {
  @Module({ imports: [ZeroTrustModule.forRoot({ issuer: 'https://issuer.test', audience: 'edges' })], controllers: [ThingsController] })
  class EdgesModule {}
  return bootstrapApp(EdgesModule, platform, true);
}

function expectHeaders(response: Pick<Response, 'headers' | 'status'>) {
  for (const [name, value] of Object.entries(DEFAULT_SECURITY_HEADERS)) {
    expect(response.headers[name.toLowerCase()], `${name} on ${response.status}`).toBe(value);
  }
  expect(response.headers['x-powered-by']).toBeUndefined();
  expect(response.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
}

/** A raw HTTP exchange, for requests supertest cannot shape (a chunked body, a header block over Node's limit). */
function raw(app: INestApplication, lines: string, body = ''): Promise<string> {
  const { port } = app.getHttpServer().address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(`${lines}\r\n\r\n${body}`));
    let text = '';
    socket.on('data', (chunk) => (text += chunk.toString('latin1')));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
}

describe.each(PLATFORMS)('13.18 framework-produced errors carry the security headers (%s)', (platform) => {
  let app: INestApplication;
  beforeAll(async () => {
    app = await createApp(platform);
  });
  afterAll(() => app?.close());

  it.each(['/things/%zz', '/%E0%A4%A', '/things/%', '/things/a%ZZb?x=1'])('13.18: broken percent-encoding %s is a 400 with the headers and the uniform body', async (path) => {
    const response = await request(app.getHttpServer()).get(path);
    expect(response.status).toBe(400);
    expectHeaders(response);
    expect(response.body).toEqual({ statusCode: 400, message: 'Malformed URL', error: 'Bad Request' });
  });

  it('13.18: the router 404 of an unknown route has the headers', async () => {
    const response = await request(app.getHttpServer()).delete('/nothing/here').expect(404);
    expectHeaders(response);
    expect(Object.keys(response.body).sort()).toEqual(['error', 'message', 'statusCode']);
  });

  it('13.18: a route parameter longer than the router takes still gets the headers', async () => {
    // Fastify's router answers 414 itself for a parameter over 100 characters; Express serves the route.
    const response = await request(app.getHttpServer()).get(`/things/${'a'.repeat(300)}`);
    expect(response.status).toBe(platform === 'fastify' ? 414 : 200);
    expectHeaders(response);
  });

  it.each([
    ['malformed JSON', { 'Content-Type': 'application/json' }, '{"name":', { express: 400, fastify: 400 }],
    ['an empty JSON body', { 'Content-Type': 'application/json', 'Content-Length': '0' }, '', { express: 400, fastify: 400 }],
    // Fastify's parser ignores the charset parameter and Content-Encoding: the body is plain JSON, so it is served.
    ['a charset no parser knows', { 'Content-Type': 'application/json; charset=x-klingon' }, '{"name":"a"}', { express: 415, fastify: 201 }],
    ['a content encoding no parser knows', { 'Content-Type': 'application/json', 'Content-Encoding': 'x-zip' }, '{"name":"a"}', { express: 415, fastify: 201 }],
    ['a gzip body that is not gzip', { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }, 'not gzip at all', { express: 400, fastify: 400 }],
  ])('13.18: a body-parser error (%s) has the headers and the uniform body', async (_name, headers, body, status) => {
    const response = await request(app.getHttpServer()).post('/things').set(headers).send(body);
    expect(response.status).toBe(status[platform]);
    expectHeaders(response);
    if (response.status >= 400) expect(Object.keys(response.body).sort()).toEqual(['error', 'message', 'statusCode']);
  });

  it('13.18: a chunked body over the parser limit (no Content-Length to refuse early) is a 413 with the headers', async () => {
    const { port } = app.getHttpServer().address() as AddressInfo;
    const response = await new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
      let answered = false;
      const req = httpRequest({ port, host: '127.0.0.1', method: 'POST', path: '/things', headers: { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' } }, (res) => {
        answered = true;
        let body = '';
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      });
      // The server answers before the body is sent and may close the connection: a write error after the answer is expected.
      req.on('error', (error) => answered || reject(error));
      req.write('{"name":"');
      // 2 MB: over Express's 100 kB JSON limit and Fastify's 1 MiB default.
      for (let i = 0; i < 32; i++) req.write('x'.repeat(64 * 1024));
      req.end('"}');
    });
    expect(response.status).toBe(413);
    expectHeaders(response as unknown as Response);
    expect(Object.keys(JSON.parse(response.body)).sort()).toEqual(['error', 'message', 'statusCode']);
  });

  it('13.18: Node itself answers an oversize header block with 431 before any app code runs (documented)', async () => {
    const answer = await raw(app, `GET /things/1 HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20 * 1024)}`);
    const [statusLine, ...rest] = answer.split('\r\n');
    expect(statusLine).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    // No request id: no code of the module (or of any app) ran. The README says so.
    expect(rest.join('\n').toLowerCase()).not.toContain('x-request-id');
  });
});

/**
 * Issue 13, item 14: inputs that passed validation and then made the database fail with a 500 (and a
 * stack trace). A NUL byte in the login e-mail: PostgreSQL refuses NUL in text (SQLSTATE 22021).
 * `?offset=1e21`: an "integer" no JavaScript number holds exactly, which TypeORM wrote as `OFFSET 1e+21`.
 */
import type { INestApplication } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSampleApp } from '../../sample/src/app.factory.js';
import { PLATFORMS } from '../support/test-app.js';

process.env.ZT_DB = 'memory';
process.env.ZT_RLS_IDENTITY_KEY ??= randomBytes(32).toString('base64');

describe.each(PLATFORMS)('13.14 sample inputs that used to answer 500 (%s)', (platform) => {
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  let token: string;

  beforeAll(async () => {
    app = await createSampleApp(platform, false);
    http = request(app.getHttpServer());
    await http.post('/auth/register').set('Content-Type', 'application/json').send({ email: 'nul@example.com', password: 'correct horse battery' }).expect(201);
    token = (await http.post('/auth/login').set('Content-Type', 'application/json').send({ email: 'nul@example.com', password: 'correct horse battery' }).expect(200)).body.accessToken;
  });
  afterAll(() => app?.close());

  it('13.14: a NUL byte in the login e-mail is a 400 without a stack', async () => {
    const response = await http.post('/auth/login').set('Content-Type', 'application/json').send('{"email":"nul\\u0000@example.com","password":"correct horse battery"}');
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ statusCode: 400, message: ['property email must not contain a NUL character'], error: 'Bad Request' });
  });

  it('13.14: a NUL byte in a registration or a note is a 400', async () => {
    await http.post('/auth/register').set('Content-Type', 'application/json').send('{"email":"a@example.com","password":"correct horse\\u0000battery"}').expect(400);
    await http.post('/notes').set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json').send('{"title":"t","body":"\\u0000"}').expect(400);
  });

  it('13.14: a lone surrogate in the registration e-mail is a 400 (validator.js threw on it: 500)', async () => {
    const response = await http.post('/auth/register').set('Content-Type', 'application/json').send('{"email":"\\ud800@example.com","password":"correct horse battery"}');
    expect(response.status).toBe(400);
    expect(response.body.message).toEqual(['property email must be well-formed Unicode']);
  });

  it.each(['1e21', '9007199254740993', '1e300'])('13.14: ?offset=%s is a 400, not a 500', async (offset) => {
    const response = await http.get(`/notes?offset=${offset}`).set('Authorization', `Bearer ${token}`);
    expect(response.status).toBe(400);
    expect(Object.keys(response.body).sort()).toEqual(['error', 'message', 'statusCode']);
  });

  it('13.14: a large but exact offset and an oversized limit still work', async () => {
    expect((await http.get('/notes?offset=9007199254740991').set('Authorization', `Bearer ${token}`).expect(200)).body).toEqual([]);
    await http.get('/notes?limit=1e21').set('Authorization', `Bearer ${token}`).expect(200);
  });
});

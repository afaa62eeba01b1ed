/**
 * Issue 13, items 13 and 14 (the pipe's share): what an anonymous client can make the validation pipe
 * do. An 89 kB body of unknown keys used to cost ~55-140 ms of CPU (class-validator built one error per
 * key) and came back as a 312-362 kB error listing every key; a NUL byte in a string reached the
 * database, which refused it with a 500.
 */
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ZeroTrustValidationPipe } from 'nestjs-zero-trust';
import { createProbeApp, PLATFORMS } from '../support/test-app.js';

/** `{"title":"ok","k0":1,"k1":1,...}` of about `bytes` bytes: every key unknown to the DTO. */
function unknownKeysBody(bytes: number): string {
  const parts: string[] = ['"title":"ok"'];
  let size = parts[0].length + 2;
  for (let i = 0; size < bytes; i++) {
    const part = `"k${i}":1`;
    parts.push(part);
    size += part.length + 1;
  }
  return `{${parts.join(',')}}`;
}

describe.each(PLATFORMS)('13.13 bounded validation (%s)', (platform) => {
  let app: INestApplication;
  const post = (body: string) => request(app.getHttpServer()).post('/items').set('Content-Type', 'application/json').send(body);
  // `validate` is where ValidationPipe hands the object to class-validator.
  const validate = () => vi.spyOn(ZeroTrustValidationPipe.prototype as unknown as { validate: () => unknown }, 'validate');

  beforeAll(async () => {
    ({ app } = await createProbeApp(platform));
  });
  afterAll(() => app?.close());
  afterEach(() => vi.restoreAllMocks());

  it('13.13: an 89 kB body of unknown keys is refused before class-validator runs, with a small error', async () => {
    const body = unknownKeysBody(89 * 1024);
    expect(body.length).toBeGreaterThan(89 * 1024);
    const spy = validate();
    const response = await post(body).expect(400);
    expect(spy).not.toHaveBeenCalled();
    expect(response.body).toEqual({ statusCode: 400, message: ['body has more than 1000 values'], error: 'Bad Request' });
    expect(response.text.length).toBeLessThan(200);
  });

  it('13.13: the value budget counts array elements and nested values too', async () => {
    const spy = validate();
    await post(JSON.stringify({ title: 'ok', tag: { name: Array.from({ length: 1200 }, () => 'a') } })).expect(400);
    await post(JSON.stringify(Array.from({ length: 1001 }, () => ({})))).expect(400);
    expect(spy).not.toHaveBeenCalled();
    // The query is walked with the same budget (Express's parser itself keeps at most 1000 keys).
    const query = Array.from({ length: 1001 }, (_, i) => `limit=${i}`).join('&');
    const response = await request(app.getHttpServer()).get(`/items?${query}`).expect(400);
    expect(response.body.message).toEqual(['query has more than 1000 values']);
  });

  it('13.13: within the budget, a 400 lists the first 20 messages and counts the rest', async () => {
    const keys = Array.from({ length: 500 }, (_, i) => `"extra${i}":1`).join(',');
    const response = await post(`{"title":"ok",${keys}}`).expect(400);
    const messages = response.body.message as string[];
    expect(messages).toHaveLength(21);
    expect(messages.slice(0, 20).every((message) => /^property extra\d+ should not exist$/.test(message))).toBe(true);
    expect(messages[20]).toBe('and 480 more errors');
    expect(response.text.length).toBeLessThan(1500);
  });

  it('13.13: a long attacker-chosen key is not echoed in full', async () => {
    const key = 'x'.repeat(20_000);
    const response = await post(`{"title":"ok","${key}":1}`).expect(400);
    expect(response.text.length).toBeLessThan(500);
    expect(response.body.message[0]).toMatch(/^property x+…x* should not exist$/);
  });

  it('13.13: a valid body is still validated and transformed', async () => {
    const spy = validate();
    const response = await post(JSON.stringify({ title: 'ok', tag: { name: 'a' } })).expect(201);
    expect(response.body).toEqual({ created: { title: 'ok', tag: { name: 'a' } }, isDto: true });
    expect(spy).toHaveBeenCalled();
  });
});

describe('13.13 the bounds are options of the module', () => {
  it('13.13: validation.maxValues and validation.maxMessages are honoured', async () => {
    const { app } = await createProbeApp('express', { validation: { maxValues: 3, maxMessages: 2 } });
    try {
      const post = (body: unknown) => request(app.getHttpServer()).post('/items').set('Content-Type', 'application/json').send(JSON.stringify(body));
      expect((await post({ title: 'ok', a: 1, b: 2, c: 3 }).expect(400)).body.message).toEqual(['body has more than 3 values']);
      expect((await post({ title: 'ok', a: 1, b: 2 }).expect(400)).body.message).toEqual(['property a should not exist', 'property b should not exist']);
      expect((await post({ title: 42, a: 1, b: 2 }).expect(400)).body.message).toHaveLength(3);
    } finally {
      await app.close();
    }
  });

  it('13.13: a misspelled or out-of-range bound stops the boot', async () => {
    await expect(createProbeApp('express', { validation: { maxValue: 3 } } as never)).rejects.toThrow(/unknown option "validation.maxValue". Did you mean "maxValues"\?/);
    await expect(createProbeApp('express', { validation: { maxMessages: 0 } })).rejects.toThrow(/validation.maxMessages must be a whole number from 1 to 10000/);
  });
});

describe.each(PLATFORMS)('13.14 NUL bytes never reach a handler (%s)', (platform) => {
  let app: INestApplication;
  const post = (body: string) => request(app.getHttpServer()).post('/items').set('Content-Type', 'application/json').send(body);

  beforeAll(async () => {
    ({ app } = await createProbeApp(platform));
  });
  afterAll(() => app?.close());

  it.each([
    ['a string value', '{"title":"a\\u0000b"}', 'property title must not contain a NUL character'],
    ['a nested string value', '{"title":"ok","tag":{"name":"\\u0000"}}', 'property tag.name must not contain a NUL character'],
    ['a key', '{"title":"ok","a\\u0000b":1}', 'a property name must not contain a NUL character'],
  ])('13.14: a NUL byte in %s of a body is a 400', async (_name, body, message) => {
    const response = await post(body).expect(400);
    expect(response.body).toEqual({ statusCode: 400, message: [message], error: 'Bad Request' });
  });

  it('13.14: a lone surrogate is a 400; a surrogate pair (an emoji) is text like any other', async () => {
    expect((await post('{"title":"a\\ud800"}').expect(400)).body.message).toEqual(['property title must be well-formed Unicode']);
    expect((await post('{"title":"\\ud83d\\ude00 ok"}').expect(201)).body.created).toEqual({ title: '😀 ok' });
  });

  it('13.14: a NUL byte in a query value is a 400', async () => {
    const response = await request(app.getHttpServer()).get('/items?limit=1%00').expect(400);
    expect(response.body.message).toEqual(['property limit must not contain a NUL character']);
  });
});

/**
 * Issue 13, item 17: a 429 from the auth limit carried only `Retry-After-auth` and the default limit's
 * `X-RateLimit-*` figures. Every 429 now carries `Retry-After` (RFC 9110 §10.2.3, RFC 6585 §4) and the
 * rate-limit headers of the limit that refused it.
 */
import type { INestApplication } from '@nestjs/common';
import { ManualClock } from 'nestjs-zero-trust';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { PLATFORMS } from '../support/test-app.js';
import { createThrottleApp } from '../throttle/throttle-app.js';

describe.each(PLATFORMS)('13.17: 429 headers (%s)', (platform) => {
  let app: INestApplication;
  afterEach(() => app?.close());

  const login = (email: string) => request(app.getHttpServer()).post('/auth/legacy-login').set('Content-Type', 'application/json').send({ email, password: 'wrong' });

  it('13.17: a 429 from the auth limit carries Retry-After and the auth limit\'s X-RateLimit-* figures, not the default\'s', async () => {
    ({ app } = await createThrottleApp(platform, { throttle: { default: { limit: 100, window: 60 }, auth: { limit: 3, window: 30 } }, lockout: false }));
    for (let i = 0; i < 3; i++) await login(`user${i}@example.com`).expect(401);
    const refused = await login('user9@example.com').expect(429);
    expect(refused.headers['retry-after']).toBe('30');
    expect(refused.headers['retry-after-auth']).toBe('30');
    expect(refused.headers['x-ratelimit-limit']).toBe('3');
    expect(refused.headers['x-ratelimit-remaining']).toBe('0');
    expect(refused.headers['x-ratelimit-reset']).toBe('30');
    expect(refused.headers['x-ratelimit-limit-auth']).toBe('3');
    expect(refused.headers['x-ratelimit-remaining-auth']).toBe('0');
  });

  it('13.17: a 429 from the default limit carries Retry-After and its own figures', async () => {
    ({ app } = await createThrottleApp(platform, { throttle: { default: { limit: 2, window: 45 } }, lockout: false }));
    for (let i = 0; i < 2; i++) await request(app.getHttpServer()).get('/open').expect(200);
    const refused = await request(app.getHttpServer()).get('/open').expect(429);
    expect(refused.headers['retry-after']).toBe('45');
    expect(refused.headers['x-ratelimit-limit']).toBe('2');
    expect(refused.headers['x-ratelimit-remaining']).toBe('0');
    expect(refused.headers['x-ratelimit-reset']).toBe('45');
  });

  it('13.17: Retry-After tells the truth with a block shorter than the window: the client is served again after it', async () => {
    const clock = new ManualClock();
    ({ app } = await createThrottleApp(platform, { clock, throttle: { auth: { limit: 1, window: 60, block: 5 } }, lockout: false }));
    await login('a@example.com').expect(401);
    const refused = await login('a@example.com').expect(429);
    expect(refused.headers['retry-after']).toBe('5');
    clock.advance(4000);
    expect((await login('a@example.com').expect(429)).headers['retry-after']).toBe('1');
    clock.advance(1001);
    await login('a@example.com').expect(401);
  });

  it('13.17: a response under the limits keeps the default figures unsuffixed and the auth figures suffixed', async () => {
    ({ app } = await createThrottleApp(platform, { throttle: { default: { limit: 100, window: 60 }, auth: { limit: 3, window: 30 } }, lockout: false }));
    const served = await login('a@example.com').expect(401);
    expect(served.headers['x-ratelimit-limit']).toBe('100');
    expect(served.headers['x-ratelimit-limit-auth']).toBe('3');
    expect(served.headers['x-ratelimit-remaining-auth']).toBe('2');
    expect(served.headers['retry-after']).toBeUndefined();
  });
});

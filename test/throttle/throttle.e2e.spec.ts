import type { INestApplication } from '@nestjs/common';
import { ManualClock, TokenService } from 'nestjs-zero-trust';
import { DEFAULT_SECURITY_HEADERS } from '../../lib/http/security-headers.js';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import type { CaptureAuditSink } from '../support/capture-audit.sink.js';
import { PLATFORMS } from '../support/test-app.js';
import { createThrottleApp, RIGHT_PASSWORD } from './throttle-app.js';

const json = { 'Content-Type': 'application/json' };

describe.each(PLATFORMS)('rate limits and lockout, in memory (%s)', (platform) => {
  let app: INestApplication;
  let audit: CaptureAuditSink;
  afterEach(() => app?.close());

  const login = (email: string, password = 'wrong password', headers: Record<string, string> = {}, path = '/auth/login') =>
    request(app.getHttpServer()).post(path).set(json).set(headers).send({ email, password });

  it('answers the call over the auth limit with 429, Retry-After, rate-limit and security headers', async () => {
    ({ app, audit } = await createThrottleApp(platform, { throttle: { auth: { limit: 3, window: 60 } }, lockout: false }));
    for (let i = 0; i < 3; i++) await login(`user${i}@example.com`).expect(401);
    const response = await login('user9@example.com').expect(429);
    expect(response.body).toEqual({ statusCode: 429, message: 'Too many requests', error: 'Too Many Requests' });
    expect(Number(response.headers['retry-after-auth'])).toBeGreaterThan(0);
    for (const [name, value] of Object.entries(DEFAULT_SECURITY_HEADERS)) expect(response.headers[name.toLowerCase()]).toBe(value);
    expect(audit.last('rate_limit.exceeded')).toMatchObject({ reason: 'auth', route: '/auth/login', outcome: 'denied' });
    const allowed = await request(app.getHttpServer()).get('/open').expect(200);
    expect(allowed.headers['x-ratelimit-limit']).toBe('100');
  });

  it('is not fooled by rotating X-Forwarded-For, X-Real-IP, True-Client-IP or Forwarded', async () => {
    ({ app } = await createThrottleApp(platform, { throttle: { auth: { limit: 3, window: 60 } }, lockout: false }));
    for (let i = 0; i < 3; i++) await login('a@example.com').expect(401);
    for (let i = 0; i < 4; i++) {
      const spoof = `203.0.113.${i}`;
      await login('a@example.com', 'x', { 'X-Forwarded-For': spoof, 'X-Real-IP': spoof, 'True-Client-IP': spoof, Forwarded: `for=${spoof}` }).expect(429);
    }
  });

  it('counts path variants of the login route in the same bucket', async () => {
    ({ app } = await createThrottleApp(platform, { throttle: { auth: { limit: 3, window: 60 } }, lockout: false }));
    await login('a@example.com', 'x', {}, '/auth/login').expect(401);
    await login('a@example.com', 'x', {}, '/auth/login?x=1').expect(401);
    await login('a@example.com', 'x', {}, '/auth/login?y=2').expect(401);
    for (const variant of ['/auth/login', '/auth/login/', '/AUTH/LOGIN', '/auth//login', '/auth/login?x=3']) {
      // A variant either reaches the login handler, and then it is over the limit, or it does not route at all.
      expect([404, 429]).toContain((await login('a@example.com', 'x', {}, variant)).status);
    }
  });

  it('limits each authenticated caller in a bucket of their own', async () => {
    ({ app } = await createThrottleApp(platform, { throttle: { default: { limit: 3, window: 60 } }, lockout: false }));
    const tokens = app.get(TokenService);
    const alice = tokens.issueAccessToken({ subject: 'alice' }).accessToken;
    const bob = tokens.issueAccessToken({ subject: 'bob' }).accessToken;
    for (let i = 0; i < 3; i++) await request(app.getHttpServer()).get('/me').set('Authorization', `Bearer ${alice}`).expect(200);
    await request(app.getHttpServer()).get('/me').set('Authorization', `Bearer ${alice}`).expect(429);
    await request(app.getHttpServer()).get('/me').set('Authorization', `Bearer ${bob}`).expect(200);
  });

  it('reads the client address behind a trusted proxy, ignoring what the client prepended', async () => {
    ({ app } = await createThrottleApp(platform, { trustProxy: 1, throttle: { auth: { limit: 2, window: 60 } }, lockout: false }));
    // The proxy appends the real client (198.51.100.7); the client forged the entries before it.
    for (const forged of ['1.1.1.1', '2.2.2.2']) await login('a@example.com', 'x', { 'X-Forwarded-For': `${forged}, 198.51.100.7` }).expect(401);
    await login('a@example.com', 'x', { 'X-Forwarded-For': '3.3.3.3, 198.51.100.7' }).expect(429);
    // Another real client behind the same proxy has its own bucket.
    await login('a@example.com', 'x', { 'X-Forwarded-For': '198.51.100.8' }).expect(401);
  });

  it('locks an account after failed logins from many addresses, answering like a wrong password, then unlocks', async () => {
    const clock = new ManualClock();
    ({ app, audit } = await createThrottleApp(platform, {
      clock,
      trustProxy: ['127.0.0.1', '::1'],
      throttle: { auth: { limit: 100, window: 60 } },
      lockout: { threshold: 3, window: 60, duration: 1, maxDuration: 4 },
    }));
    const from = (i: number) => ({ 'X-Forwarded-For': `198.51.100.${i}` });
    for (let i = 0; i < 3; i++) await login('victim@example.com', 'guess', from(i)).expect(401);
    expect(audit.last('auth.lockout')).toMatchObject({ outcome: 'denied', details: { lockSeconds: 1, level: 1 } });
    expect(JSON.stringify(audit.events)).not.toContain('victim@example.com');
    const lockedRight = await login('victim@example.com', RIGHT_PASSWORD, from(50)).expect(401);
    const wrong = await login('other@example.com', 'guess', from(51)).expect(401);
    expect(lockedRight.body).toEqual(wrong.body);
    // Another account is not affected.
    await login('bystander@example.com', RIGHT_PASSWORD, from(52)).expect(200);
    clock.advance(1100);
    await login('victim@example.com', RIGHT_PASSWORD, from(53)).expect(200);
    // The next lock within a day lasts twice as long.
    for (let i = 0; i < 3; i++) await login('victim@example.com', 'guess', from(60 + i)).expect(401);
    expect(audit.last('auth.lockout')).toMatchObject({ details: { lockSeconds: 2, level: 2 } });
  });

  it('stops many usernames from one address with the auth limit', async () => {
    ({ app } = await createThrottleApp(platform, { throttle: { auth: { limit: 5, window: 60 } } }));
    const statuses = [];
    for (let i = 0; i < 8; i++) statuses.push((await login(`spray${i}@example.com`)).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429, 429]);
  });
});

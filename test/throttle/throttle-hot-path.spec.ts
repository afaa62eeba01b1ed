import type { INestApplication } from '@nestjs/common';
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { MemoryStore, TokenService, ZeroTrustThrottlerGuard } from 'nestjs-zero-trust';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createProbeApp, PLATFORMS, TEST_ISSUER } from '../support/test-app.js';

/** A memory store that records every rate-limit key it is asked to count. */
class CountingStore extends MemoryStore {
  readonly keys: string[] = [];

  override throttle(key: string, windowMs: number, limit: number, blockMs: number) {
    this.keys.push(key);
    return super.throttle(key, windowMs, limit, blockMs);
  }
}

/** A subclass that buckets every caller by a header of its own: the `getTracker` hook must still be asked. */
class TenantThrottlerGuard extends ZeroTrustThrottlerGuard {
  static asked = 0;

  protected override async getTracker(request: Record<string, unknown>): Promise<string> {
    TenantThrottlerGuard.asked++;
    const headers = (request as { headers: Record<string, string | undefined> }).headers;
    return `tenant:${headers['x-tenant'] ?? 'none'}`;
  }
}

/** @nestjs/throttler's own key for a limit of a route (its `generateKey`), so a shared Redis store's buckets carry over. */
const throttlerKey = (route: string, name: string, tracker: string) => `throttle:${name}:${createHash('sha256').update(`${route}-${name}-${tracker}`).digest('hex')}`;

/*
 * Issue 16 cut the rate-limit guard's per-request work (no promise per planned number, no closure per
 * request, a one-shot hash). What must not change is counted here: one store call per limit per request,
 * under the same key as before, the subclass hook still asked, one AsyncLocalStorage entry per request.
 */
describe.each(PLATFORMS)('the rate-limit guard per request (%s)', (platform) => {
  let app: INestApplication;
  let store: CountingStore;
  let alice: string;

  beforeAll(async () => {
    store = new CountingStore();
    ({ app } = await createProbeApp(platform, { store, throttle: { default: { limit: 1000, window: 60 } } }));
    alice = app.get(TokenService).issueAccessToken({ subject: 'alice' }).accessToken;
  });
  afterAll(() => app?.close());

  it('counts an authenticated request exactly once, under @nestjs/throttler key of its subject', async () => {
    store.keys.length = 0;
    for (let i = 0; i < 3; i++) await request(app.getHttpServer()).get('/me').set('Authorization', `Bearer ${alice}`).expect(200);
    expect(store.keys).toEqual(Array(3).fill(throttlerKey('ProbeController-me', 'default', `sub:${TEST_ISSUER}#alice`)));
  });

  it('counts an anonymous request once, in the bucket of its address', async () => {
    store.keys.length = 0;
    const response = await request(app.getHttpServer()).get('/open').expect(200);
    expect(store.keys).toHaveLength(1);
    expect(store.keys[0]).toMatch(/^throttle:default:[0-9a-f]{64}$/);
    expect(store.keys[0]).not.toBe(throttlerKey('ProbeController-open', 'default', `sub:${TEST_ISSUER}#alice`));
    expect(response.headers['x-ratelimit-limit']).toBe('1000');
  });

  it('enters the request context once per request, in the middleware (the guards find it entered)', async () => {
    const run = vi.spyOn(AsyncLocalStorage.prototype, 'run');
    try {
      await request(app.getHttpServer()).get('/me').set('Authorization', `Bearer ${alice}`).expect(200);
      expect(run).toHaveBeenCalledTimes(1);
    } finally {
      run.mockRestore();
    }
  });
});

describe.each(PLATFORMS)('a subclass of the rate-limit guard (%s)', (platform) => {
  let app: INestApplication;
  let store: CountingStore;

  beforeAll(async () => {
    store = new CountingStore();
    ({ app } = await createProbeApp(platform, { store, throttle: { default: { limit: 2, window: 60 } }, enhancers: { throttlerGuard: TenantThrottlerGuard } }));
  });
  afterAll(() => app?.close());

  it('asks its getTracker once per request and counts its bucket, not the address', async () => {
    TenantThrottlerGuard.asked = 0;
    store.keys.length = 0;
    for (let i = 0; i < 2; i++) await request(app.getHttpServer()).get('/open').set('X-Tenant', 'acme').expect(200);
    await request(app.getHttpServer()).get('/open').set('X-Tenant', 'acme').expect(429);
    await request(app.getHttpServer()).get('/open').set('X-Tenant', 'other').expect(200);
    expect(TenantThrottlerGuard.asked).toBe(4);
    expect(store.keys).toEqual([
      ...Array(3).fill(throttlerKey('ProbeController-open', 'default', 'tenant:acme')),
      throttlerKey('ProbeController-open', 'default', 'tenant:other'),
    ]);
  });
});

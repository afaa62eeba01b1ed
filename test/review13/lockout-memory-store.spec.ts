/**
 * Review 13 against issue 13.2/13.6 (atomic lockout, a memory store that never evicts locks).
 *
 * 1. The account's attempt counter is an evictable counter until the lock is taken. A flood of cheap
 *    requests (new addresses, new login names) between two series of guesses evicts it, so an attacker
 *    checks threshold-1 passwords, floods, and starts again: unlimited guesses per window, never a lock.
 * 2. Flags are never evicted, and every failed login is counted per login name, known or not. Locking
 *    made-up names fills the store with flags (a lock and a 24 h escalation level each). With the flags
 *    near the bound, the few counters left are evicted by the guesses' own traffic (per-address rate-limit
 *    counters): no account reaches its threshold any more, for as long as the levels live (24 h).
 */
import type { INestApplication } from '@nestjs/common';
import { ManualClock, MemoryStore } from 'nestjs-zero-trust';
import { afterEach, describe, expect, it } from 'vitest';
import { PLATFORMS } from '../support/test-app.js';
import { baseUrl, postLogin } from '../throttle/burst.js';
import { createThrottleApp, RIGHT_PASSWORD } from '../throttle/throttle-app.js';

const LOCKOUT = { threshold: 5, window: 600, duration: 900, maxDuration: 86_400 };
const MAX_KEYS = 64;

describe.each(PLATFORMS)('review13: lockout on the memory store (%s)', (platform) => {
  let app: INestApplication;
  afterEach(() => app?.close());

  const start = async () => {
    const clock = new ManualClock();
    const store = new MemoryStore({ maxKeys: MAX_KEYS, clock });
    const started = await createThrottleApp(
      platform,
      { clock, store, trustProxy: ['127.0.0.1', '::1'], throttle: { auth: { limit: 10_000, window: 60 } }, lockout: LOCKOUT },
      true,
    );
    app = started.app;
    return { ...started, url: baseUrl(app), store, clock };
  };

  it('review13: a key flood between guesses evicts the attempt counter: more than `threshold` passwords per window, never a lock', async () => {
    const { url, audit } = await start();
    const victim = 'victim@example.com';
    let wrong = 0;
    let n = 0;
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < LOCKOUT.threshold - 1; i++) {
        expect(await postLogin(url, { email: victim, password: `guess ${wrong++}` }, { 'X-Forwarded-For': `198.51.100.${wrong}` })).toBe(401);
      }
      // 100 cheap requests: new addresses, new login names.
      for (let batch = 0; batch < 2; batch++) {
        await Promise.all(
          Array.from({ length: 50 }, () => {
            const k = n++;
            return postLogin(url, { email: `flood${k}@example.com`, password: 'x' }, { 'X-Forwarded-For': `10.${round}.${batch}.${(k % 250) + 1}` });
          }),
        );
      }
    }
    // 12 wrong passwords on one account within one window (threshold 5): it should be locked, the right password refused.
    const status = await postLogin(url, { email: victim, password: RIGHT_PASSWORD }, { 'X-Forwarded-For': '203.0.113.9' });
    expect({ wrong, status, lockouts: audit.events.filter((e) => e.type === 'auth.lockout').length }).toEqual({ wrong: 12, status: 401, lockouts: 1 });
  });

  it('review13: flags of made-up login names crowd the store; from then on every guess evicts its own counter and no account locks', async () => {
    const { url, store, audit } = await start();
    // Made-up names x 5 wrong passwords: a lock and a 24 h escalation level each, all unevictable.
    for (let name = 0; name < MAX_KEYS / 2; name++) {
      for (let i = 0; i < LOCKOUT.threshold; i++) {
        await postLogin(url, { email: `nobody${name}@example.com`, password: `x${i}` }, { 'X-Forwarded-For': `10.9.${name}.${i + 1}` });
      }
    }
    expect(store.size).toBe(MAX_KEYS);
    const locksBefore = audit.events.filter((e) => e.type === 'auth.lockout').length;
    // Now the victim: 10 wrong passwords, each from a new address, no flood needed.
    for (let i = 0; i < 10; i++) expect(await postLogin(url, { email: 'victim@example.com', password: `guess ${i}` }, { 'X-Forwarded-For': `198.51.100.${i + 1}` })).toBe(401);
    const status = await postLogin(url, { email: 'victim@example.com', password: RIGHT_PASSWORD }, { 'X-Forwarded-For': '203.0.113.10' });
    expect({ status, newLocks: audit.events.filter((e) => e.type === 'auth.lockout').length - locksBefore }).toEqual({ status: 401, newLocks: 1 });
  });
});

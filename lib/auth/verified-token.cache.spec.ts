import { describe, expect, it } from 'vitest';
import type { ZeroTrustPrincipal } from '../core/principal.interface.js';
import { VerifiedTokenCache } from './verified-token.cache.js';

const principal = (subject: string) => ({ subject, ownerId: subject }) as unknown as ZeroTrustPrincipal;
const trusted = { stillTrusted: () => true };
const SIGNATURE = 'S'.repeat(86);
const token = (payload: string) => `eyJhbGciOiJFUzI1NiJ9.${payload}.${SIGNATURE}`;

describe('VerifiedTokenCache', () => {
  it('answers only for the exact bytes verified: a token with the same signature and another payload misses', () => {
    const cache = new VerifiedTokenCache();
    cache.set(token('alice'), principal('alice'), trusted);
    expect(cache.get(token('alice'))?.subject).toBe('alice');
    // The signature (the map key's tail) is copied onto a forged payload: never a hit, never Alice.
    expect(cache.get(token('mallory'))).toBeUndefined();
    expect(cache.get(`x${token('alice')}`)).toBeUndefined();
  });

  it('a failed token that shares the tail of a cached one does not evict it', () => {
    const cache = new VerifiedTokenCache();
    cache.set(token('alice'), principal('alice'), trusted);
    cache.delete(token('mallory'));
    expect(cache.get(token('alice'))?.subject).toBe('alice');
    cache.delete(token('alice'));
    expect(cache.get(token('alice'))).toBeUndefined();
  });

  it('drops an entry whose key is no longer trusted', () => {
    const cache = new VerifiedTokenCache();
    let trust = true;
    cache.set(token('alice'), principal('alice'), { stillTrusted: () => trust });
    trust = false;
    expect(cache.get(token('alice'))).toBeUndefined();
    trust = true;
    expect(cache.get(token('alice'))).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('is bounded: past maxEntries the oldest entry goes first', () => {
    const cache = new VerifiedTokenCache(2);
    const tokens = ['a', 'b', 'c'].map((p) => `h.${p}.${p.repeat(60)}`);
    for (const t of tokens) cache.set(t, principal(t), trusted);
    expect(cache.size).toBe(2);
    expect(cache.get(tokens[0])).toBeUndefined();
    expect(cache.get(tokens[2])?.subject).toBe(tokens[2]);
  });

  it('stays bounded when tokens are set again, deleted and evicted in any order, and keeps the newest', () => {
    const max = 50;
    const cache = new VerifiedTokenCache(max);
    const tokens = Array.from({ length: 400 }, (_, i) => `h.${i}.${String(i).padStart(60, 'x')}`);
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 20_000; round++) {
      const t = tokens[Math.floor(random() * tokens.length)];
      if (random() < 0.2) cache.delete(t);
      else cache.set(t, principal(t), trusted);
      expect(cache.size).toBeLessThanOrEqual(max);
    }
    // The last `max` distinct tokens set, with nothing deleted in between, are all still there.
    const last = tokens.slice(0, max);
    for (const t of last) cache.set(t, principal(t), trusted);
    for (const t of last) expect(cache.get(t)?.subject).toBe(t);
    expect(cache.size).toBe(max);
  });
});

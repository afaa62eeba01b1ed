import { describe, expect, it } from 'vitest';
import { AccessTokenRejection } from './access-token-rejection.js';
import { decodeJws, JwsHeaderCache } from './jws.js';

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const jws = (header: unknown, claims: unknown = { sub: 'u1' }) => `${b64(header)}.${b64(claims)}.${b64('signature')}`;

describe('JwsHeaderCache', () => {
  it('decodes a header once and hands out the same frozen object for the same bytes', () => {
    const cache = new JwsHeaderCache();
    const a = decodeJws(jws({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' }, { sub: 'alice' }), cache);
    const b = decodeJws(jws({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' }, { sub: 'bob' }), cache);
    expect(b.header).toBe(a.header);
    expect(Object.isFrozen(a.header)).toBe(true);
    expect(() => {
      (a.header as Record<string, unknown>).alg = 'none';
    }).toThrow(TypeError);
    // Claims are never shared.
    expect(a.claims.sub).toBe('alice');
    expect(b.claims.sub).toBe('bob');
  });

  it('keys by the exact text: the same JSON written differently is parsed on its own', () => {
    const cache = new JwsHeaderCache();
    const a = decodeJws(`${b64('{"alg":"ES256","kid":"k1"}')}.${b64({})}.${b64('s')}`, cache);
    const b = decodeJws(`${b64('{"kid":"k2","alg":"HS256"}')}.${b64({})}.${b64('s')}`, cache);
    expect(a.header).not.toBe(b.header);
    expect(b.header).toEqual({ kid: 'k2', alg: 'HS256' });
  });

  it('does not keep headers with nested objects (a jwk), which a shallow freeze would leave mutable', () => {
    const cache = new JwsHeaderCache();
    const header = { alg: 'ES256', typ: 'dpop+jwt', jwk: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y' } };
    const a = decodeJws(jws(header), cache);
    const b = decodeJws(jws(header), cache);
    expect(a.header).not.toBe(b.header);
    expect(b.header).toEqual(header);
  });

  it('stays bounded under headers an attacker varies, and still refuses a header that is not a JSON object', () => {
    const cache = new JwsHeaderCache();
    for (let i = 0; i < 10_000; i++) decodeJws(jws({ alg: 'ES256', kid: `k${i}` }), cache);
    expect((cache as unknown as { parsed: Map<string, unknown> }).parsed.size).toBeLessThanOrEqual(64);
    expect(() => decodeJws(`${b64('[1]')}.${b64({})}.${b64('s')}`, cache)).toThrow(AccessTokenRejection);
    expect(() => decodeJws(`${b64('not json')}.${b64({})}.${b64('s')}`, cache)).toThrow(AccessTokenRejection);
  });
});

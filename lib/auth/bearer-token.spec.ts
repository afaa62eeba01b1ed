import { describe, expect, it } from 'vitest';
import { bearerToken } from './bearer-token.js';

describe('bearerToken, parsed once per request', () => {
  it('parses a header changed since the last read afresh: the memo is keyed by the value, not the request', () => {
    const request = { headers: { authorization: 'Bearer aaa.bbb.ccc' }, rawHeaders: ['Authorization', 'Bearer aaa.bbb.ccc'] };
    expect(bearerToken(request).token).toBe('aaa.bbb.ccc');
    request.headers.authorization = 'Bearer xxx.yyy.zzz';
    expect(bearerToken(request).token).toBe('xxx.yyy.zzz');
    request.headers.authorization = 'Basic dXNlcjpwYXNz';
    expect(bearerToken(request)).toEqual({ refused: 'missing_token' });
  });

  it('still refuses two Authorization fields, and a token followed by junk, on every read', () => {
    const twice = { headers: { authorization: 'Bearer aaa.bbb.ccc' }, rawHeaders: ['Authorization', 'Bearer aaa.bbb.ccc', 'authorization', 'Bearer evil.evil.evil'] };
    expect(bearerToken(twice)).toEqual({ refused: 'malformed' });
    expect(bearerToken(twice)).toEqual({ refused: 'malformed' });
    const junk = { headers: { authorization: 'Bearer aaa.bbb.ccc junk' } };
    expect(bearerToken(junk)).toEqual({ refused: 'malformed' });
  });

  it('reads a frozen request (as a subscription may make) without keeping anything on it', () => {
    const request = Object.freeze({ headers: Object.freeze({ authorization: 'Bearer aaa.bbb.ccc' }) });
    expect(bearerToken(request).token).toBe('aaa.bbb.ccc');
    expect(bearerToken(request).token).toBe('aaa.bbb.ccc');
    expect(Object.getOwnPropertySymbols(request)).toEqual([]);
  });

  it('hands out credentials a caller cannot change for the next reader', () => {
    const request = { headers: { authorization: 'Bearer aaa.bbb.ccc' } };
    const first = bearerToken(request) as { token: string };
    expect(() => {
      first.token = 'forged';
    }).toThrow(TypeError);
    expect(bearerToken(request).token).toBe('aaa.bbb.ccc');
  });
});

import { describe, expect, it } from 'vitest';
import { base32Decode, base32Encode, generateRecoveryCodes, hashRecoveryCode, totpCode, totpStep, verifyTotp } from './totp.js';

// RFC 6238 Appendix B, SHA-1 secret "12345678901234567890" (the 6-digit tail of the 8-digit vectors).
const SECRET = base32Encode(Buffer.from('12345678901234567890'));
const VECTORS: Array<[number, string]> = [
  [59, '287082'],
  [1111111109, '081804'],
  [1111111111, '050471'],
  [1234567890, '005924'],
  [2000000000, '279037'],
];

describe('TOTP (RFC 6238)', () => {
  it.each(VECTORS)('matches the RFC test vector at T=%i', (seconds, code) => {
    expect(totpCode(SECRET, totpStep(seconds * 1000))).toBe(code);
  });

  it('round-trips base32', () => {
    expect(base32Decode(SECRET).toString()).toBe('12345678901234567890');
  });

  it('accepts the current step and one either side, and says which', () => {
    const now = 1_700_000_000_000;
    const step = totpStep(now);
    expect(verifyTotp(SECRET, totpCode(SECRET, step), { nowMs: now })).toBe(step);
    expect(verifyTotp(SECRET, totpCode(SECRET, step - 1), { nowMs: now })).toBe(step - 1);
    expect(verifyTotp(SECRET, totpCode(SECRET, step - 2), { nowMs: now })).toBeNull();
  });

  it('refuses a replayed code (its step is not after the last one used)', () => {
    const now = 1_700_000_000_000;
    const step = totpStep(now);
    expect(verifyTotp(SECRET, totpCode(SECRET, step), { nowMs: now, lastUsedStep: step })).toBeNull();
    expect(verifyTotp(SECRET, totpCode(SECRET, step + 1), { nowMs: now, lastUsedStep: step })).toBe(step + 1);
  });

  it.each([undefined, '', '12345', '1234567', 'abcdef', 123456])('refuses a malformed code %j', (code) => {
    expect(verifyTotp(SECRET, code)).toBeNull();
  });

  it('makes distinct recovery codes whose hashes ignore case and spaces', () => {
    const { codes, hashes } = generateRecoveryCodes();
    expect(new Set(codes).size).toBe(10);
    expect(hashRecoveryCode(` ${codes[0].toUpperCase()} `)).toBe(hashes[0]);
  });
});

import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TotpSecretCipher, totpKeyId } from './totp-secret.cipher.js';
import { generateTotpSecret } from './totp.js';

const KEY = randomBytes(32);
const OTHER = randomBytes(32);

describe('TotpSecretCipher (AES-256-GCM, the subject as associated data)', () => {
  it('round-trips a secret for its subject, with a fresh IV each time', () => {
    const cipher = new TotpSecretCipher([KEY]);
    const secret = generateTotpSecret();
    const [a, b] = [cipher.encrypt(secret, 'alice'), cipher.encrypt(secret, 'alice')];
    expect(a).not.toBe(b);
    expect(a).toMatch(new RegExp(`^v1\\.${totpKeyId(KEY)}\\.[\\w-]+\\.[\\w-]+\\.[\\w-]+$`));
    expect(a).not.toContain(secret);
    expect(cipher.decrypt(a, 'alice')).toBe(secret);
  });

  it('opens nothing for another subject: a ciphertext copied to another account proves nothing there', () => {
    const cipher = new TotpSecretCipher([KEY]);
    expect(cipher.decrypt(cipher.encrypt(generateTotpSecret(), 'attacker'), 'victim')).toBeNull();
  });

  it('opens nothing under another key, nor a changed byte, nor garbage', () => {
    const stored = new TotpSecretCipher([KEY]).encrypt(generateTotpSecret(), 'alice');
    expect(new TotpSecretCipher([OTHER]).decrypt(stored, 'alice')).toBeNull();
    const parts = stored.split('.');
    const body = Buffer.from(parts[3], 'base64url');
    body[0] ^= 1;
    parts[3] = body.toString('base64url');
    expect(new TotpSecretCipher([KEY]).decrypt(parts.join('.'), 'alice')).toBeNull();
    for (const garbage of ['', 'JBSWY3DPEHPK3PXP', 'v1.x.y.z', 'v2.a.b.c.d']) expect(new TotpSecretCipher([KEY]).decrypt(garbage, 'alice')).toBeNull();
  });

  it('decrypts with a previous key after a rotation, encrypts only with the current one, and says which values are stale', () => {
    const secret = generateTotpSecret();
    const old = new TotpSecretCipher([KEY]).encrypt(secret, 'alice');
    const rotated = new TotpSecretCipher([OTHER, KEY]);
    expect(rotated.decrypt(old, 'alice')).toBe(secret);
    expect(rotated.isStale(old)).toBe(true);
    expect(rotated.isStale(rotated.encrypt(secret, 'alice'))).toBe(false);
  });

  it('refuses keys that are not 32 bytes', () => {
    expect(() => new TotpSecretCipher([randomBytes(16)])).toThrow(/32 bytes/);
    expect(() => new TotpSecretCipher([])).toThrow(/at least one key/);
  });
});

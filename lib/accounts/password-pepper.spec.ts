import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';
import { PasswordPepper, PEPPERED_HASH_PREFIX } from './password-pepper.js';

const key = () => randomBytes(32).toString('base64');
const PHC = '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA';

describe('PasswordPepper', () => {
  it.each([
    ['missing', ''],
    ['too short (16 bytes)', randomBytes(16).toString('base64')],
    ['not base64', 'not a key at all, just a sentence of text!'],
  ])('refuses a pepper that is %s, naming the command that makes one', (_name, value) => {
    expect(() => new PasswordPepper(value)).toThrow(ZeroTrustConfigurationError);
    expect(() => new PasswordPepper(value)).toThrow(/openssl rand -base64 32/);
  });

  it('refuses a previous key that repeats the current one', () => {
    const current = key();
    expect(() => new PasswordPepper(current, [current])).toThrow(/repeats/);
  });

  it('hashes an HMAC of the password, never the password, and marks the result with its key id', () => {
    const pepper = new PasswordPepper(key());
    const fresh = pepper.forNewHash('hunter2');
    expect(fresh.input).not.toContain('hunter2');
    expect(fresh.input).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(fresh.seal(PHC)).toMatch(/^zp1\$[0-9a-f]{8}\$argon2id\$/);
    // The same password under another pepper is another input: a hash is useless without its key.
    expect(new PasswordPepper(key()).forNewHash('hunter2').input).not.toBe(fresh.input);
  });

  it('opens its own hash (or its settings) with the same input, current', () => {
    const pepper = new PasswordPepper(key());
    const stored = pepper.forNewHash('hunter2').seal(PHC);
    const opened = pepper.open(stored.slice(0, stored.lastIndexOf('$')), 'hunter2')!;
    expect(opened).toMatchObject({ input: pepper.forNewHash('hunter2').input, inner: PHC.slice(0, PHC.lastIndexOf('$')), current: true });
    expect(opened.seal(PHC)).toBe(stored);
  });

  it('opens a hash made before the pepper with the plain password, as not current (re-hash it at the next login)', () => {
    const opened = new PasswordPepper(key()).open(PHC, 'hunter2')!;
    expect(opened).toMatchObject({ input: 'hunter2', inner: PHC, current: false });
    expect(opened.seal(PHC)).toBe(PHC);
  });

  it('after a rotation opens hashes of the previous key as not current, and refuses a key it does not hold', () => {
    const [old, fresh] = [key(), key()];
    const stored = new PasswordPepper(old).forNewHash('hunter2').seal(PHC);
    const rotated = new PasswordPepper(fresh, [old]);
    expect(rotated.open(stored, 'hunter2')).toMatchObject({ input: new PasswordPepper(old).forNewHash('hunter2').input, current: false });
    expect(new PasswordPepper(fresh).open(stored, 'hunter2')).toBeNull();
    expect(new PasswordPepper(fresh).open(`${PEPPERED_HASH_PREFIX}$argon2id`, 'hunter2')).toBeNull();
  });
});

/**
 * Issue 20: the `lifecycle` options are checked at boot (each bad input on its own), and the password
 * policy follows NIST SP 800-63B: length in code points, no composition rules, common passwords out.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DevelopmentMailer, PasswordPolicy } from '../../lib/index.js';
import { LifecyclePorts } from '../../lib/lifecycle/lifecycle-ports.js';
import type { CoreConfig } from '../../lib/core/core.options.js';
import { resolveLifecycleOptions } from '../../lib/lifecycle/lifecycle.options.js';
import { resolveZeroTrustOptions, type ZeroTrustModuleOptions } from '../../lib/zero-trust.options.js';

const registry = { findByLogin: async () => null, findBySubject: async () => null, create: async () => null, markVerified: async () => undefined, setPassword: async () => undefined };
const links = { verifyAddress: 'https://app.example/verify?token=', resetPassword: 'https://app.example/reset?token=' };
const base = { issuer: 'https://api.example', audience: 'api', sessions: {} } as ZeroTrustModuleOptions;
const resolve = (lifecycle: unknown, env: NodeJS.ProcessEnv = { NODE_ENV: 'test' }, extra: object = {}) =>
  resolveZeroTrustOptions({ ...base, ...extra, lifecycle } as ZeroTrustModuleOptions, env).lifecycle;

describe('issue 20: lifecycle options', () => {
  it('is off by default, and on with every default when given its two required fields', () => {
    expect(resolve(undefined)).toBe(false);
    const config = resolve({ registry, links });
    expect(config).toMatchObject({
      passwordPolicy: { minLength: 12, maxLength: 128, minScore: 3 },
      proofOfWork: { difficulty: 50_000, raisedDifficulty: 1_000_000, expiresIn: 300, failuresBeforeChallenge: 3 },
      passwordReset: { tokenTtl: 900, perAccount: 3, perAddress: 10, window: 3600 },
      responseFloor: 0.25,
      passkeys: false,
    });
  });

  it.each([
    [{ registry, links, proofOfWrok: {} }, /unknown option "lifecycle.proofOfWrok".*Did you mean "proofOfWork"/],
    [{ links }, /lifecycle.registry must be an AccountRegistry/],
    [{ registry: { findByLogin() {} }, links }, /lifecycle.registry must be an AccountRegistry/],
    [{ registry, links: { verifyAddress: 'ftp://x', resetPassword: links.resetPassword } }, /lifecycle.links.verifyAddress must be an absolute http\(s\) URL/],
    [{ registry, links, passwordPolicy: { minLength: 6 } }, /lifecycle.passwordPolicy.minLength must be a whole number from 8 to 64/],
    [{ registry, links, passwordPolicy: { minScore: '3' } }, /lifecycle.passwordPolicy.minScore must be a whole number/],
    [{ registry, links, proofOfWork: { difficulty: 1000, raisedDifficulty: 10 } }, /raisedDifficulty \(10\) is below difficulty \(1000\)/],
    [{ registry, links, proofOfWork: { hmacKey: 'c2hvcnQ=' } }, /hmacKey must be 32 bytes or more.*openssl rand -base64 32/],
    [{ registry, links, passkeys: { rpId: 'https://app.example', rpName: 'x', origins: ['https://app.example'] } }, /passkeys.rpId must be a domain name/],
    [{ registry, links, passkeys: { rpId: 'app.example', rpName: 'x', origins: ['https://app.example/login'] } }, /origins\[0\] must be an origin/],
  ])('refuses %j', (lifecycle, message) => {
    expect(() => resolve(lifecycle)).toThrow(message);
  });

  it('needs sessions (a reset revokes them) and, in production, a shared challenge key', () => {
    expect(() => resolveZeroTrustOptions({ issuer: 'https://api.example', audience: 'api', lifecycle: { registry, links } } as ZeroTrustModuleOptions, { NODE_ENV: 'test' })).toThrow(/turn sessions on/);
    const production = { environment: 'production', production: true } as CoreConfig;
    expect(() => resolveLifecycleOptions({ sessions: {}, lifecycle: { registry, links } }, production)).toThrow(/proofOfWork.hmacKey is required in production/);
    const hmacKey = randomBytes(32).toString('base64');
    expect(resolveLifecycleOptions({ sessions: {}, lifecycle: { registry, links, proofOfWork: { hmacKey } } }, production)).toMatchObject({ production: true });
  });
});

describe('issue 20: the mailer in production', () => {
  const config = (production: boolean, mailer?: unknown) =>
    ({ ...(resolveLifecycleOptions({ sessions: {}, lifecycle: { registry, links, proofOfWork: { hmacKey: randomBytes(32).toString('base64') }, ...(mailer ? { mailer } : {}) } }, { environment: 'test', production: false } as CoreConfig) as object), production }) as never;

  it('refuses to start without a real mailer, or with the development one', () => {
    expect(() => new LifecyclePorts(config(true), {} as never, {} as never).mailer()).toThrow(/lifecycle.mailer is required in production/);
    expect(() => new LifecyclePorts(config(true, new DevelopmentMailer()), {} as never, {} as never).mailer()).toThrow(/DevelopmentMailer in production/);
    expect(new LifecyclePorts(config(false), {} as never, {} as never).mailer()).toBeInstanceOf(DevelopmentMailer);
  });
});

describe('issue 20: PasswordPolicy (NIST SP 800-63B)', async () => {
  const policy = await PasswordPolicy.create();

  it('counts code points, not UTF-16 units: 12 emoji are 12 characters', () => {
    expect(policy.check('🔑'.repeat(11))?.reason).toBe('too_short');
    expect(policy.check('🔑🐙🌵🎻🚲🧩🪁🦉🍉🛶🌋🧲')).toBeNull();
  });

  it('has no composition rules: a long lower-case passphrase passes, a short "complex" one does not', () => {
    expect(policy.check('correct horse battery staple')).toBeNull();
    expect(policy.check('P@ssw0rd!')?.reason).toBe('too_short');
  });

  it('refuses common, guessable and personal passwords, saying which', () => {
    expect(policy.check('password1234')).toMatchObject({ reason: 'common' });
    expect(policy.check('1234567890123')).toMatchObject({ reason: expect.stringMatching(/common|guessable/) });
    expect(policy.check('abcdefghijklmn')).toMatchObject({ reason: expect.stringMatching(/common|guessable/) });
    expect(policy.check('alice.liddell-wonderland', ['alice.liddell@example.com'])).toMatchObject({ reason: 'contains_personal_data' });
    expect(policy.check(42)).toMatchObject({ reason: 'not_text' });
  });

  it('takes forbidden words of the product', async () => {
    const product = await PasswordPolicy.create({ forbiddenWords: ['zerotrust'] });
    expect(product.check('zerotrust2026')?.reason).toMatch(/common|guessable/);
  });
});

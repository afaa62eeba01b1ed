import { describe, expect, it } from 'vitest';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';
import type { LifecycleConfig } from './lifecycle.options.js';
import { PasswordPolicy } from './password.policy.js';

const lifecycleOn = { passwordPolicy: { minLength: 12, maxLength: 128, minScore: 3, forbiddenWords: [] } } as unknown as LifecycleConfig;

describe('PasswordPolicy: when its dictionaries are loaded (issue 16, peak RSS)', () => {
  it('with lifecycle off, boot does not load zxcvbn: a check that needs it says to call load()', async () => {
    const policy = new PasswordPolicy(false);
    await policy.onModuleInit();
    expect(() => policy.check('correct horse battery staple')).toThrow(ZeroTrustConfigurationError);
    expect(() => policy.check('correct horse battery staple')).toThrow(/load\(\)/);
  });

  it('with lifecycle off, the checks that need no dictionary still answer before load()', async () => {
    const policy = new PasswordPolicy(false);
    await policy.onModuleInit();
    expect(policy.check('short')?.reason).toBe('too_short');
    expect(policy.check(42)?.reason).toBe('not_text');
    expect(policy.check('alice.liddell-wonderland', ['alice.liddell@example.com'])?.reason).toBe('contains_personal_data');
  });

  it('with lifecycle off, load() makes the full check work, with the default rules; loading twice is one load', async () => {
    const policy = new PasswordPolicy(false);
    await Promise.all([policy.load(), policy.load()]);
    expect(policy.check('password1234')?.reason).toBe('common');
    expect(policy.check('correct horse battery staple')).toBeNull();
  });

  it('with lifecycle on, boot loads it (registration and reset check passwords)', async () => {
    const policy = new PasswordPolicy(lifecycleOn);
    await policy.onModuleInit();
    expect(policy.check('password1234')?.reason).toBe('common');
  });
});

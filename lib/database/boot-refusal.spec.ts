import { describe, expect, it } from 'vitest';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';
import { refuseBoot, startReportOnlyBoot } from './boot-refusal.js';

describe('refuseBoot', () => {
  it('refuses the boot by default: no report-only boot, no way past a refusal', () => {
    expect(() => refuseBoot('2 route(s) declare no authorization rule')).toThrow(ZeroTrustConfigurationError);
  });

  it('records the refusal only inside the doctor’s report-only boot, and refuses again once it ended', () => {
    const boot = startReportOnlyBoot();
    try {
      refuseBoot('first');
      refuseBoot('second');
      expect(boot.refusals).toEqual(['first', 'second']);
    } finally {
      boot.end();
    }
    expect(() => refuseBoot('after')).toThrow('nestjs-zero-trust: after');
    expect(boot.refusals).toEqual(['first', 'second']);
  });

  it('is not switched on by the environment (nothing outside the process can turn a refusal into a report)', () => {
    process.env.ZT_REPORT_ONLY_BOOT = '1';
    process.env.NESTJS_ZERO_TRUST_REPORT_ONLY_BOOT = '1';
    try {
      expect(() => refuseBoot('refused')).toThrow(ZeroTrustConfigurationError);
    } finally {
      delete process.env.ZT_REPORT_ONLY_BOOT;
      delete process.env.NESTJS_ZERO_TRUST_REPORT_ONLY_BOOT;
    }
  });
});

import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';

/**
 * Set on `globalThis` (through `Symbol.for`, so the ESM and CommonJS builds share it) by
 * `nestjs-zero-trust doctor` only, for a boot that never listens. A process-level symbol rather than an
 * environment variable: nothing outside the process can turn a refusal into a report, and code inside
 * it could already do anything.
 */
const REPORT_ONLY_BOOT = Symbol.for('nestjs-zero-trust.report-only-boot');

type WithRefusals = { [REPORT_ONLY_BOOT]?: string[] };

/**
 * A boot check's refusal (strict mode, a production-only rule). Normally the app does not start; under
 * the doctor's report-only boot the refusal is recorded and the boot goes on, so every other check
 * still runs and the report shows all of them instead of the first one only.
 */
export function refuseBoot(message: string): void {
  const refusals = (globalThis as WithRefusals)[REPORT_ONLY_BOOT];
  if (!Array.isArray(refusals)) throw new ZeroTrustConfigurationError(message);
  refusals.push(message);
}

/** For the doctor: from now on, refusals are recorded in the returned list instead of thrown; `end()` restores refusing. */
export function startReportOnlyBoot(): { refusals: readonly string[]; end(): void } {
  const refusals: string[] = [];
  (globalThis as WithRefusals)[REPORT_ONLY_BOOT] = refusals;
  return { refusals, end: () => void delete (globalThis as WithRefusals)[REPORT_ONLY_BOOT] };
}

import { Logger } from '@nestjs/common';
import { array, custom, disableable, integer, object, oneOf, seconds, section } from '../core/option-schema.js';
import type { AuditFloodLimits } from './audit-flood.gate.js';
import type { AuditSink } from './audit-sink.interface.js';
import { LoggerAuditSink } from './logger-audit.sink.js';

export interface AuditOptions {
  /** Sinks that receive every audit event, in addition to the logger sink (see `audit.loggerSink`). */
  auditSinks?: AuditSink[];
  audit?: {
    /**
     * The default sink, kept beside `auditSinks`. `'json'` (default, or `true`): one JSON object per line on
     * stdout, nothing around it, for a log shipper; written only when the app's logger has the level on
     * (`logger: false` silences it). `'nest'`: the same JSON as the message of a Nest Logger line (context
     * `ZeroTrustAudit`), for an app whose logger (`app.useLogger`) should carry the events. `false`: none.
     */
    loggerSink?: boolean | 'json' | 'nest';
    /**
     * `auth.success` on every authenticated request would be one event (and by default one log line)
     * per request. `'count'` (default): only counted, in `AuditService.tally()` and the metrics;
     * `'all'`: published as events too.
     */
    authSuccess?: 'count' | 'all';
    /**
     * Failure events a client can repeat at will (`auth.failure`, `access.denied`, `rate_limit.exceeded`,
     * `mfa.failure`) are aggregated before the sinks, so a flood cannot crowd out other events: per
     * window, the first `maxIdentical` identical ones and at most `maxPerType` of a type are written, the
     * rest counted into one summary event. Metrics and anomaly rules still see every event. `false`
     * writes every event.
     */
    floodControl?:
      | false
      | {
          /** Seconds of one counting window. Default 60. */
          window?: number;
          /** Identical events (same type, reason, address, route, principal) written per window. Default 10. */
          maxIdentical?: number;
          /** Events of one type written per window. Default 1000. */
          maxPerType?: number;
        };
  };
}

const sink = custom<AuditSink>('an audit sink (an object with a write(event) method)', (value) =>
  value !== null && typeof value === 'object' && typeof (value as AuditSink).write === 'function' ? (value as AuditSink) : undefined,
);

export const auditOptionsSchema = object({
  auditSinks: array(sink, { default: [] }),
  audit: section({
    loggerSink: oneOf([true, false, 'json', 'nest'], { default: 'json' }),
    authSuccess: oneOf(['count', 'all'], { default: 'count' }),
    floodControl: disableable(
      object({
        window: seconds({ min: 1, max: 86_400, default: 60 }),
        maxIdentical: integer({ min: 1, max: 1_000_000, default: 10 }),
        maxPerType: integer({ min: 1, max: 10_000_000, default: 1000 }),
      }),
      { default: 'on' },
    ),
  }),
});

export interface AuditConfig {
  readonly sinks: readonly AuditSink[];
  readonly publishAuthSuccess: boolean;
  readonly floodControl: AuditFloodLimits | false;
}

export function resolveAuditOptions(raw: Record<string, unknown>): AuditConfig {
  const given = auditOptionsSchema.pick(raw);
  return {
    sinks: [...(given.audit.loggerSink === false ? [] : [given.audit.loggerSink === 'nest' ? new LoggerAuditSink(new Logger('ZeroTrustAudit')) : new LoggerAuditSink()]), ...given.auditSinks],
    publishAuthSuccess: given.audit.authSuccess === 'all',
    floodControl: given.audit.floodControl,
  };
}

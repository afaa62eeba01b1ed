import { array, boolean, custom, object, oneOf, section } from '../core/option-schema.js';
import type { AuditSink } from './audit-sink.interface.js';
import { LoggerAuditSink } from './logger-audit.sink.js';

export interface AuditOptions {
  /** Sinks that receive every audit event, in addition to the logger sink (see `audit.loggerSink`). */
  auditSinks?: AuditSink[];
  audit?: {
    /** Keep the default sink (one JSON line per event on Nest's Logger) beside `auditSinks`. Default true. */
    loggerSink?: boolean;
    /**
     * `auth.success` on every authenticated request would be one event (and by default one log line)
     * per request. `'count'` (default): only counted, in `AuditService.tally()` and the metrics;
     * `'all'`: published as events too.
     */
    authSuccess?: 'count' | 'all';
  };
}

const sink = custom<AuditSink>('an audit sink (an object with a write(event) method)', (value) =>
  value !== null && typeof value === 'object' && typeof (value as AuditSink).write === 'function' ? (value as AuditSink) : undefined,
);

export const auditOptionsSchema = object({
  auditSinks: array(sink, { default: [] }),
  audit: section({
    loggerSink: boolean({ default: true }),
    authSuccess: oneOf(['count', 'all'], { default: 'count' }),
  }),
});

export interface AuditConfig {
  readonly sinks: readonly AuditSink[];
  readonly publishAuthSuccess: boolean;
}

export function resolveAuditOptions(raw: Record<string, unknown>): AuditConfig {
  const given = auditOptionsSchema.pick(raw);
  return {
    sinks: [...(given.audit.loggerSink ? [new LoggerAuditSink()] : []), ...given.auditSinks],
    publishAuthSuccess: given.audit.authSuccess === 'all',
  };
}

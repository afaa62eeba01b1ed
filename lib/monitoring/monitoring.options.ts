import { array, custom, object } from '../core/option-schema.js';
import { type AnomalyRule, bolaProbeRule, distributedLoginFailureRule } from './anomaly-rules.js';

export interface MonitoringOptions {
  /**
   * Rules run over the audit events (see bolaProbeRule, distributedLoginFailureRule). Default: both,
   * with their defaults. `false` turns detection off; `[]` is refused (say `false` if you mean it).
   */
  anomalyRules?: AnomalyRule[] | false;
}

const rule = custom<AnomalyRule>('an anomaly rule (an object with a name and an inspect(event, now) method)', (value) =>
  value !== null && typeof value === 'object' && typeof (value as AnomalyRule).inspect === 'function' && typeof (value as AnomalyRule).name === 'string'
    ? (value as AnomalyRule)
    : undefined,
);
const rules = array(rule, { minItems: 1 });

export const monitoringOptionsSchema = object({
  anomalyRules: custom<AnomalyRule[]>('false or a non-empty list of anomaly rules', (value, path) => {
    if (value === undefined) return [bolaProbeRule(), distributedLoginFailureRule()];
    if (value === false) return [];
    return rules.parse(value, path);
  }),
});

export interface MonitoringConfig {
  readonly anomalyRules: readonly AnomalyRule[];
}

export function resolveMonitoringOptions(raw: Record<string, unknown>): MonitoringConfig {
  return monitoringOptionsSchema.pick(raw);
}

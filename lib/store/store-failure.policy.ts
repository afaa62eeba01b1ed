import { Inject, Injectable, Logger, ServiceUnavailableException } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { IncidentLog } from '../audit/incident.log.js';
import { Clock } from '../core/clock.js';
import { STORE_CONFIG } from './store.internal-constants.js';
import type { FailureMode, StoreConfig } from './store.options.js';

const REPORT_INTERVAL_MS = 10_000;

/**
 * One decision for "the store did not answer": refuse (503, fail closed) or let the request through
 * (fail open). Each endpoint kind is its own incident: one log line and one `store.unavailable` event
 * when it starts and one per 10 s while it lasts, with the count of requests it touched, so the
 * fail-open side of an outage can never hide the fail-closed side (they used to share one throttle).
 */
@Injectable()
export class StoreFailurePolicy {
  private readonly incidents: IncidentLog;

  constructor(
    private readonly audit: AuditService,
    @Inject(STORE_CONFIG) private readonly config: StoreConfig,
    private readonly clock: Clock,
  ) {
    this.incidents = new IncidentLog(new Logger('ZeroTrustModule'), {
      intervalMs: REPORT_INTERVAL_MS,
      now: () => this.clock.now(),
      onReport: (key, count) => {
        const [endpoints, mode] = key.split(':') as ['auth' | 'default', FailureMode];
        this.audit.publish({
          type: 'store.unavailable',
          outcome: 'failure',
          reason: mode === 'closed' ? 'fail_closed' : 'fail_open',
          details: { endpoints, requests: count },
        });
      },
    });
  }

  /** Throws when the endpoint kind fails closed; returns when it fails open. */
  handle(error: unknown, kind: 'auth' | 'default'): void {
    const mode = this.config.onStoreFailure[kind];
    this.incidents.record(`${kind}:${mode}`, `The rate-limit store failed (${(error as Error)?.message ?? error}); failing ${mode} on ${kind} endpoints`);
    if (mode === 'closed') throw new ServiceUnavailableException('Service temporarily unavailable');
  }

  /** Requests that met a store failure, per `<endpoints>:<mode>` (`auth:closed`, `default:open`), for the metrics. */
  failures(): ReadonlyMap<string, number> {
    return this.incidents.totals();
  }
}

import { Inject, Injectable, Logger, ServiceUnavailableException } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../core/clock.js';
import { STORE_CONFIG } from './store.internal-constants.js';
import type { StoreConfig } from './store.options.js';

const REPORT_INTERVAL_MS = 10_000;

/**
 * One decision for "the store did not answer": refuse (503, fail closed) or let the request through
 * (fail open) and report it. Reports are limited to one per 10 s so an outage cannot flood the log.
 */
@Injectable()
export class StoreFailurePolicy {
  private readonly logger = new Logger('ZeroTrustModule');
  private lastReport = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly audit: AuditService,
    @Inject(STORE_CONFIG) private readonly config: StoreConfig,
    private readonly clock: Clock,
  ) {}

  /** Throws when the endpoint kind fails closed; returns when it fails open. */
  handle(error: unknown, kind: 'auth' | 'default'): void {
    const mode = this.config.onStoreFailure[kind];
    const now = this.clock.now();
    if (now - this.lastReport >= REPORT_INTERVAL_MS) {
      this.lastReport = now;
      this.logger.error(`The rate-limit store failed (${(error as Error)?.message ?? error}); failing ${mode} on ${kind} endpoints.`);
      this.audit.publish({
        type: 'store.unavailable',
        outcome: 'failure',
        reason: mode === 'closed' ? 'fail_closed' : 'fail_open',
        details: { endpoints: kind },
      });
    }
    if (mode === 'closed') throw new ServiceUnavailableException('Service temporarily unavailable');
  }
}

import { Injectable, type OnModuleInit, Optional } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AuditEvent } from '../audit/audit-event.interface.js';
import { AuditService } from '../audit/audit.service.js';
import { AuthObserver } from '../auth/auth-observer.port.js';
import { ZeroTrustExceptionFilter } from '../http/zero-trust-exception.filter.js';
import { StoreFailurePolicy } from '../store/store-failure.policy.js';

/**
 * Prometheus metrics of the security layer, in a registry of its own (not prom-client's global one, so
 * two apps in one process never mix). Expose `metrics()` on a route protected by a scope, or on a
 * separate port: see the README.
 */
@Injectable()
export class MetricsService extends AuthObserver implements OnModuleInit {
  readonly registry = new Registry();
  private readonly events = new Counter({ name: 'zt_audit_events_total', help: 'Audit events by type', labelNames: ['type'], registers: [this.registry] });
  private readonly authentications = new Counter({ name: 'zt_auth_total', help: 'Authentication outcomes', labelNames: ['outcome', 'reason'], registers: [this.registry] });
  private readonly denials = new Counter({ name: 'zt_access_denied_total', help: 'Authorization denials by reason and rule', labelNames: ['reason', 'rule'], registers: [this.registry] });
  private readonly rateLimited = new Counter({ name: 'zt_rate_limit_exceeded_total', help: 'Requests refused by a rate limit', labelNames: ['limit'], registers: [this.registry] });
  private readonly lockouts = new Counter({ name: 'zt_lockouts_total', help: 'Accounts locked after failed logins', registers: [this.registry] });
  private readonly reuse = new Counter({ name: 'zt_token_reuse_total', help: 'Refresh tokens presented again after rotation', registers: [this.registry] });
  private readonly anomalies = new Counter({ name: 'zt_anomalies_total', help: 'Anomalies detected, by rule', labelNames: ['rule'], registers: [this.registry] });
  private readonly verification = new Histogram({
    name: 'zt_token_verification_seconds',
    // Full verifications only: a token served from the verified-token cache is counted (zt_auth_success_total), not timed (issue 16).
    help: 'Time of a full access-token verification (signature, claims, session); cache hits are not timed',
    labelNames: ['outcome'],
    buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05],
    registers: [this.registry],
  });

  /** Successful authentications are counted, not published per request: read from the audit tally at scrape time. */
  private readonly successes = new Counter({
    name: 'zt_auth_success_total',
    help: 'Successful authentications',
    registers: [this.registry],
    collect: () => this.collectSuccesses(),
  });
  private countedSuccesses = 0;

  /** Faults, read at scrape time from the components that count them (their logs say one line per incident). */
  private readonly storeFailures: Counter<'endpoints' | 'mode'> = new Counter({
    name: 'zt_store_failures_total',
    help: 'Requests that met a store failure, by endpoint kind and the mode applied (closed: 503, open: let through)',
    labelNames: ['endpoints', 'mode'],
    registers: [this.registry],
    collect: (): void => this.collectTotals(this.storeFailures, this.storeFailurePolicy?.failures(), (key) => {
      const [endpoints, mode] = key.split(':');
      return { endpoints, mode };
    }),
  });
  private readonly httpIncidents: Counter<'kind'> = new Counter({
    name: 'zt_http_incidents_total',
    help: 'Requests ended by a fault that is not a bug: 503 by reason (store_unavailable, issuer_unavailable, ...) and client aborts',
    labelNames: ['kind'],
    registers: [this.registry],
    collect: (): void => this.collectTotals(this.httpIncidents, this.exceptionFilter?.incidents(), (kind) => ({ kind })),
  });
  private readonly auditSinkEvents: Counter<'outcome'> = new Counter({
    name: 'zt_audit_sink_events_total',
    help: 'Audit events of the buffered sinks by outcome: written, retried, spilled, replayed, dropped (queue full), failed (given up)',
    labelNames: ['outcome'],
    registers: [this.registry],
    collect: () => {
      const totals = new Map<string, number>();
      for (const stats of this.audit.sinkStats()) {
        for (const outcome of ['written', 'retried', 'spilled', 'replayed', 'dropped', 'failed'] as const) totals.set(outcome, (totals.get(outcome) ?? 0) + stats[outcome]);
      }
      this.collectTotals(this.auditSinkEvents, totals, (outcome) => ({ outcome }));
    },
  });
  private readonly auditSinkQueued: Gauge = new Gauge({
    name: 'zt_audit_sink_queued',
    help: 'Audit events waiting in memory in the buffered sinks',
    registers: [this.registry],
    collect: (): void => this.auditSinkQueued.set(this.audit.sinkStats().reduce((sum, stats) => sum + stats.queued, 0)),
  });

  constructor(
    private readonly audit: AuditService,
    @Optional() private readonly storeFailurePolicy?: StoreFailurePolicy,
    @Optional() private readonly exceptionFilter?: ZeroTrustExceptionFilter,
  ) {
    super();
  }

  /** Counters whose source keeps running totals: set to those totals at each scrape. */
  private collectTotals<L extends string>(counter: Counter<L>, totals: ReadonlyMap<string, number> | undefined, labels: (key: string) => Partial<Record<L, string>>): void {
    counter.reset();
    for (const [key, total] of totals ?? []) counter.inc(labels(key), total);
  }

  private collectSuccesses(): void {
    const total = this.audit.tally().get('auth.success') ?? 0;
    if (total > this.countedSuccesses) this.successes.inc(total - this.countedSuccesses);
    this.countedSuccesses = total;
  }

  onModuleInit(): void {
    this.audit.subscribe((event) => this.record(event));
  }

  observeVerification(seconds: number, outcome: 'success' | 'failure'): void {
    this.verification.observe({ outcome }, seconds);
  }

  /** The Prometheus text exposition. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private record(event: AuditEvent): void {
    this.events.inc({ type: event.type });
    switch (event.type) {
      case 'auth.failure':
        this.authentications.inc({ outcome: event.outcome, reason: event.reason ?? 'none' });
        break;
      case 'access.denied':
        this.denials.inc({ reason: event.reason ?? 'none', rule: String(event.details?.rule ?? 'none') });
        break;
      case 'rate_limit.exceeded':
        this.rateLimited.inc({ limit: event.reason ?? 'default' });
        break;
      case 'auth.lockout':
        this.lockouts.inc();
        break;
      case 'token.reuse_detected':
        this.reuse.inc();
        break;
      case 'anomaly.detected':
        this.anomalies.inc({ rule: event.reason ?? 'unknown' });
        break;
    }
  }
}

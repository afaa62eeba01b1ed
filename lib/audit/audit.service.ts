import { type BeforeApplicationShutdown, Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Clock } from '../core/clock.js';
import { describeContext, RequestContexts } from '../core/request-context.js';
import type { AuditEvent, AuditEventType } from './audit-event.interface.js';
import { sanitizeAuditEvent } from './audit-event.sanitizer.js';
import { AuditFloodGate } from './audit-flood.gate.js';
import type { AuditSinkStats } from './buffered-audit.sink.js';
import { AUDIT_CONFIG } from './audit.internal-constants.js';
import type { AuditConfig } from './audit.options.js';

export type AuditEventInput = Omit<AuditEvent, 'time'> & { time?: string };

/**
 * The one way security events leave the module: sanitized once, then handed to the module's own
 * listeners (metrics, anomaly detection), every one, and to every sink, through the flood gate (a flood
 * of client-triggered failures is written in part and counted, see AuditFloodGate). Publishing never
 * throws and never awaits a sink. Where the event happened (request id, client address, route) comes
 * from the request context.
 */
@Injectable()
export class AuditService implements BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('ZeroTrustAudit');
  private readonly listeners: Array<(event: AuditEvent) => void> = [];
  private readonly tallies = new Map<AuditEventType, number>();
  private readonly gate?: AuditFloodGate;
  /** Ends counting windows when no event arrives to do it, so a summary does not wait for the next flood. */
  private readonly sweeper?: NodeJS.Timeout;
  private readonly writeSummary = (event: AuditEvent) => this.toSinks(event);

  constructor(
    @Inject(AUDIT_CONFIG) private readonly config: AuditConfig,
    private readonly clock: Clock,
  ) {
    if (config.floodControl) {
      const gate = new AuditFloodGate(config.floodControl);
      this.gate = gate;
      this.sweeper = setInterval(() => gate.sweep(this.clock.now(), this.writeSummary), Math.min(config.floodControl.window, 10) * 1000);
      this.sweeper.unref();
    }
  }

  /** For the module's own observers (metrics, anomaly rules). */
  subscribe(listener: (event: AuditEvent) => void): void {
    this.listeners.push(listener);
  }

  /** Publishes an event; request facts the input leaves out are taken from the current request. */
  publish(input: AuditEventInput): void {
    this.count(input.type);
    const event = sanitizeAuditEvent({
      ...describeContext(RequestContexts.current()),
      ...input,
      id: input.id ?? randomUUID(),
      time: input.time ?? new Date(this.clock.now()).toISOString(),
    });
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.reportSinkError(error);
      }
    }
    if (!this.gate || this.gate.admit(event, this.clock.now(), this.writeSummary)) this.toSinks(event);
  }

  private toSinks(event: AuditEvent): void {
    for (const sink of this.config.sinks) {
      try {
        const written = sink.write(event);
        if (written instanceof Promise) written.catch((error: unknown) => this.reportSinkError(error));
      } catch (error) {
        this.reportSinkError(error);
      }
    }
  }

  /**
   * Counts an event without publishing it: what the hot path does for `auth.success` unless
   * `audit.authSuccess` is `'all'` (an event and a log line per request cost more than the check).
   */
  count(type: AuditEventType): void {
    this.tallies.set(type, (this.tallies.get(type) ?? 0) + 1);
  }

  /** How many events of each type happened in this process (published or only counted). */
  tally(): ReadonlyMap<AuditEventType, number> {
    return this.tallies;
  }

  /** The counts of every sink that keeps them (`BufferedAuditSink.stats()`), for the metrics. */
  sinkStats(): AuditSinkStats[] {
    return this.config.sinks.flatMap((sink) => (typeof (sink as { stats?: unknown }).stats === 'function' ? [(sink as unknown as { stats(): AuditSinkStats }).stats()] : []));
  }

  /** Whether `auth.success` events are published (`audit.authSuccess: 'all'`) rather than only counted. */
  get publishesAuthSuccess(): boolean {
    return this.config.publishAuthSuccess;
  }

  /** Buffered sinks write what they hold before the database and the process go away. */
  async beforeApplicationShutdown(): Promise<void> {
    // The counts of windows still open are written too: a flood that ends with the process is not lost.
    if (this.sweeper) clearInterval(this.sweeper);
    this.gate?.drain(this.clock.now(), this.writeSummary);
    await Promise.all(this.config.sinks.map((sink) => sink.flush?.().catch((error: unknown) => this.reportSinkError(error))));
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(this.config.sinks.map((sink) => sink.close?.().catch((error: unknown) => this.reportSinkError(error))));
  }

  private reportSinkError(error: unknown): void {
    // A failing sink must not turn a denied request into a 500 or hide the denial: log and go on.
    this.logger.error(`An audit sink failed: ${(error as Error)?.message ?? String(error)}`);
  }
}

import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ResolvedZeroTrustConfig } from '../zero-trust.options.js';
import { ZERO_TRUST_CONFIG } from '../zero-trust.internal-constants.js';
import type { AuditEvent } from './audit-event.interface.js';
import { sanitizeAuditEvent } from './audit-event.sanitizer.js';

export type AuditEventInput = Omit<AuditEvent, 'time'> & { time?: string };

/**
 * The one way security events leave the module: sanitized once, then handed to every sink and to the
 * module's own listeners (metrics, anomaly detection). Publishing never throws and never awaits a sink.
 */
@Injectable()
export class AuditService {
  private readonly logger = new Logger(AuditService.name);
  private readonly listeners: Array<(event: AuditEvent) => void> = [];

  constructor(@Inject(ZERO_TRUST_CONFIG) private readonly config: ResolvedZeroTrustConfig) {}

  /** For the module's own observers (metrics, anomaly rules). */
  subscribe(listener: (event: AuditEvent) => void): void {
    this.listeners.push(listener);
  }

  publish(input: AuditEventInput): void {
    const event = sanitizeAuditEvent({ ...input, time: input.time ?? new Date().toISOString() });
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.reportSinkError(error);
      }
    }
    for (const sink of this.config.auditSinks) {
      try {
        const written = sink.write(event);
        if (written instanceof Promise) written.catch((error: unknown) => this.reportSinkError(error));
      } catch (error) {
        this.reportSinkError(error);
      }
    }
  }

  private reportSinkError(error: unknown): void {
    // A failing sink must not turn a denied request into a 500 or hide the denial: log and go on.
    this.logger.error(`An audit sink failed: ${(error as Error)?.message ?? String(error)}`);
  }
}

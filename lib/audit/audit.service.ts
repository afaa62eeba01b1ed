import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ResolvedZeroTrustConfig } from '../zero-trust.options.js';
import { ZERO_TRUST_CONFIG } from '../zero-trust.internal-constants.js';
import type { AuditEvent } from './audit-event.interface.js';

export type AuditEventInput = Omit<AuditEvent, 'time'> & { time?: string };

/** The one way security events leave the module. Publishing never throws and never awaits a sink. */
@Injectable()
export class AuditService {
  private readonly logger = new Logger(AuditService.name);

  constructor(@Inject(ZERO_TRUST_CONFIG) private readonly config: ResolvedZeroTrustConfig) {}

  publish(input: AuditEventInput): void {
    const event: AuditEvent = { ...input, time: input.time ?? new Date().toISOString() };
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

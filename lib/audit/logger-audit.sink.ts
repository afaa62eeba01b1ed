import { Logger } from '@nestjs/common';
import type { AuditEvent } from './audit-event.interface.js';
import type { AuditSink } from './audit-sink.interface.js';

/**
 * The default sink: one JSON line per event on Nest's Logger (context `ZeroTrustAudit`).
 * JSON.stringify escapes control characters, so a newline inside a user-supplied value cannot
 * forge a second log line.
 */
export class LoggerAuditSink implements AuditSink {
  constructor(private readonly logger = new Logger('ZeroTrustAudit')) {}

  write(event: AuditEvent): void {
    const line = JSON.stringify(event);
    if (event.outcome === 'success') this.logger.log(line);
    else this.logger.warn(line);
  }
}

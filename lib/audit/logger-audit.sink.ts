import { Logger, type LogLevel } from '@nestjs/common';
import type { AuditEvent } from './audit-event.interface.js';
import type { AuditSink } from './audit-sink.interface.js';

/** Where JSON lines go: a stream's `write` (process.stdout by default). */
export interface AuditLineOutput {
  write(line: string): unknown;
}

/**
 * The default sink: one JSON object per line, nothing around it (no timestamp prefix, no colour codes), so
 * a log shipper reads each event as it is. JSON.stringify escapes control characters: a newline inside a
 * user-supplied value cannot forge a second line. A line is written only when the app's logger has its
 * level on (`logger: false`, `logger: ['error']`... silence it as they silence the rest of the app).
 * Given a Nest `Logger` instead, the same JSON is that logger's message (context `ZeroTrustAudit`), for an
 * app whose own logger should carry the events (`audit.loggerSink: 'nest'`).
 */
export class LoggerAuditSink implements AuditSink {
  constructor(private readonly output: Logger | AuditLineOutput = process.stdout) {}

  write(event: AuditEvent): void {
    const level: LogLevel = event.outcome === 'success' ? 'log' : 'warn';
    const line = JSON.stringify(event);
    if (this.output instanceof Logger || typeof (this.output as Partial<Logger>).warn === 'function') {
      const logger = this.output as Logger;
      if (level === 'log') logger.log(line);
      else logger.warn(line);
      return;
    }
    if (!Logger.isLevelEnabled(level)) return;
    this.output.write(`${line}\n`);
  }
}

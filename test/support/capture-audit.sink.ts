import type { AuditEvent, AuditSink } from 'nestjs-zero-trust';

/** Keeps audit events in memory so tests can assert on what was recorded. */
export class CaptureAuditSink implements AuditSink {
  readonly events: AuditEvent[] = [];

  write(event: AuditEvent): void {
    this.events.push(event);
  }

  last(type?: string): AuditEvent | undefined {
    return [...this.events].reverse().find((event) => !type || event.type === type);
  }

  clear(): void {
    this.events.length = 0;
  }
}

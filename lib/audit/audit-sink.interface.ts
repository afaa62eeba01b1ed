import type { AuditEvent } from './audit-event.interface.js';

/** Where audit events go. A sink must not throw into the request path; the service guards it anyway. */
export interface AuditSink {
  write(event: AuditEvent): void | Promise<void>;
}

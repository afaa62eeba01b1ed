import type { AuditEvent } from './audit-event.interface.js';

/**
 * Where audit events go. `write` must not throw into the request path (the service guards it anyway)
 * and should not wait on I/O: buffer instead (see BufferedAuditSink). `flush` and `close` are called
 * at application shutdown, so buffered events are written before the process exits.
 */
export interface AuditSink {
  write(event: AuditEvent): void | Promise<void>;
  /** Writes whatever is buffered. Called first at shutdown. */
  flush?(): Promise<void>;
  /** Releases timers and connections. Called after every sink was flushed. */
  close?(): Promise<void>;
}

import type { AuditEvent } from './audit-event.interface.js';
import type { AuditSink } from './audit-sink.interface.js';

export interface AuditQuery {
  type?: string;
  subject?: string;
  /** Default 50, at most the sink's capacity. */
  limit?: number;
}

/**
 * Keeps the newest `capacity` events in memory (a ring buffer: old events are dropped, memory stays
 * bounded). For an admin view in a single instance or for tests; use a durable sink for an audit trail.
 */
export class MemoryAuditSink implements AuditSink {
  private readonly events: AuditEvent[] = [];
  private next = 0;

  constructor(private readonly capacity = 1000) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer');
  }

  write(event: AuditEvent): void {
    if (this.events.length < this.capacity) this.events.push(event);
    else this.events[this.next] = event;
    this.next = (this.next + 1) % this.capacity;
  }

  /** Newest first. */
  query(query: AuditQuery = {}): AuditEvent[] {
    const limit = Math.min(Math.max(1, query.limit ?? 50), this.capacity);
    const ordered = [...this.events.slice(this.next), ...this.events.slice(0, this.next)].reverse();
    return ordered
      .filter((event) => (!query.type || event.type === query.type) && (!query.subject || event.principal?.subject === query.subject))
      .slice(0, limit);
  }
}

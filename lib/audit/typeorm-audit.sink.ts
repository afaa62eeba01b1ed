import type { DataSource } from 'typeorm';
import type { AuditEvent } from './audit-event.interface.js';
import type { BatchAuditSink } from './buffered-audit.sink.js';
import { BufferedAuditSink, type BufferedAuditSinkOptions } from './buffered-audit.sink.js';

const COLUMNS = ['time', 'type', 'outcome', 'reason', 'request_id', 'subject', 'session_id', 'ip', 'method', 'route', 'details'] as const;

/** Writes batches into the append-only `zt_audit_log` table (see ZeroTrustAuditLog1732000200000). */
export class TypeOrmAuditWriter implements BatchAuditSink {
  constructor(private readonly dataSource: DataSource) {}

  async writeBatch(events: AuditEvent[]): Promise<void> {
    if (events.length === 0) return;
    const values: unknown[] = [];
    const rows = events.map((event) => {
      const row = [
        event.time,
        event.type,
        event.outcome,
        event.reason ?? null,
        event.requestId ?? null,
        event.principal?.subject ?? null,
        event.principal?.sessionId ?? null,
        event.ip ?? null,
        event.method ?? null,
        event.route ?? null,
        event.details ? JSON.stringify(event.details) : null,
      ];
      const placeholders = row.map((value) => {
        values.push(value);
        return `$${values.length}`;
      });
      return `(${placeholders.join(', ')})`;
    });
    await this.dataSource.query(`INSERT INTO zt_audit_log (${COLUMNS.join(', ')}) VALUES ${rows.join(', ')}`, values);
  }
}

/** The durable sink: buffered and batched, off the request path. */
export function typeOrmAuditSink(dataSource: DataSource, options?: BufferedAuditSinkOptions): BufferedAuditSink {
  return new BufferedAuditSink(new TypeOrmAuditWriter(dataSource), options);
}

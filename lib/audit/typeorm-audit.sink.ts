import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import type { AuditEvent } from './audit-event.interface.js';
import type { BatchAuditSink } from './buffered-audit.sink.js';
import { BufferedAuditSink, type BufferedAuditSinkOptions } from './buffered-audit.sink.js';

const COLUMNS = ['time', 'type', 'outcome', 'reason', 'request_id', 'subject', 'session_id', 'ip', 'method', 'route', 'details'] as const;
/** SQLSTATE 42703 (no such column) and 42P10 (no unique index for ON CONFLICT): ZeroTrustAuditEventId1732000210000 not run. */
const WITHOUT_EVENT_ID = new Set(['42703', '42P10']);

/**
 * Writes batches into the append-only `zt_audit_log` table (see ZeroTrustAuditLog1732000200000). With
 * ZeroTrustAuditEventId1732000210000 each row carries its event's id under a unique index and a batch
 * written again (a retry after a lost acknowledgement, a spill file replayed twice) adds nothing:
 * `ON CONFLICT DO NOTHING` needs INSERT only, so the runtime role stays append-only.
 */
export class TypeOrmAuditWriter implements BatchAuditSink {
  private withEventId = true;

  constructor(private readonly dataSource: DataSource) {}

  async writeBatch(events: AuditEvent[]): Promise<void> {
    if (events.length === 0) return;
    if (this.withEventId) {
      try {
        await this.insert(events, true);
        return;
      } catch (error) {
        if (!WITHOUT_EVENT_ID.has(String((error as { driverError?: { code?: unknown } }).driverError?.code ?? (error as { code?: unknown }).code))) throw error;
        this.withEventId = false;
        new Logger('ZeroTrustAudit').warn(
          'zt_audit_log has no event_id column: add ZeroTrustAuditEventId1732000210000 to your migrations, or a retried batch may be stored twice.',
        );
      }
    }
    await this.insert(events, false);
  }

  private async insert(events: AuditEvent[], withEventId: boolean): Promise<void> {
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
        ...(withEventId ? [event.id ?? null] : []),
      ];
      const placeholders = row.map((value) => {
        values.push(value);
        return `$${values.length}`;
      });
      return `(${placeholders.join(', ')})`;
    });
    const columns = withEventId ? [...COLUMNS, 'event_id'] : COLUMNS;
    await this.dataSource.query(
      `INSERT INTO zt_audit_log (${columns.join(', ')}) VALUES ${rows.join(', ')}${withEventId ? ' ON CONFLICT (event_id) DO NOTHING' : ''}`,
      values,
    );
  }
}

/** The durable sink: buffered and batched, off the request path, retried, and spilled if asked. */
export function typeOrmAuditSink(dataSource: DataSource, options?: BufferedAuditSinkOptions): BufferedAuditSink {
  return new BufferedAuditSink(new TypeOrmAuditWriter(dataSource), options);
}

import { Logger } from '@nestjs/common';
import { integer, object, seconds } from '../core/option-schema.js';
import type { AuditEvent } from './audit-event.interface.js';
import type { AuditSink } from './audit-sink.interface.js';

/** A sink that takes events in batches (a database, a log shipper). */
export interface BatchAuditSink {
  writeBatch(events: AuditEvent[]): Promise<void>;
}

export interface BufferedAuditSinkOptions {
  /** Events held at most; past it new events are dropped and counted. Default 10 000. */
  maxQueue?: number;
  /** Events per write. Default 100. */
  batchSize?: number;
  /** Longest an event waits before a write, in seconds. Default 1. */
  flushInterval?: number;
}

const bufferedSinkOptions = object({
  maxQueue: integer({ min: 1, max: 10_000_000, default: 10_000 }),
  batchSize: integer({ min: 1, max: 10_000, default: 100 }),
  flushInterval: seconds({ min: 0.01, max: 3600, default: 1 }),
});

export interface AuditSinkStats {
  queued: number;
  written: number;
  dropped: number;
  failed: number;
}

/**
 * Puts a slow or failing sink off the request path: `write()` only queues. A background loop writes
 * batches; a full queue drops new events (counted), a failed batch is dropped (counted), and every
 * loss is reported on the logger with its count, so the trail says when it is incomplete.
 */
export class BufferedAuditSink implements AuditSink {
  private readonly queue: AuditEvent[] = [];
  private readonly counts = { written: 0, dropped: 0, failed: 0 };
  private reportedLosses = 0;
  private readonly timer: NodeJS.Timeout;
  private flushing?: Promise<void>;
  private readonly logger = new Logger('ZeroTrustAudit');
  private readonly maxQueue: number;
  private readonly batchSize: number;

  constructor(
    private readonly inner: BatchAuditSink,
    options: BufferedAuditSinkOptions = {},
  ) {
    const resolved = bufferedSinkOptions.parse(options, 'BufferedAuditSink options');
    this.maxQueue = resolved.maxQueue;
    this.batchSize = resolved.batchSize;
    this.timer = setInterval(() => void this.flush(), resolved.flushInterval * 1000);
    this.timer.unref();
  }

  write(event: AuditEvent): void {
    if (this.queue.length >= this.maxQueue) {
      this.counts.dropped++;
      return;
    }
    this.queue.push(event);
    if (this.queue.length >= this.batchSize) void this.flush();
  }

  stats(): AuditSinkStats {
    return { queued: this.queue.length, ...this.counts };
  }

  /** Writes everything queued (also called on shutdown). One loop at a time. */
  flush(): Promise<void> {
    this.flushing ??= this.drain().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.batchSize);
      try {
        await this.inner.writeBatch(batch);
        this.counts.written += batch.length;
      } catch (error) {
        this.counts.failed += batch.length;
        this.logger.error(`audit batch of ${batch.length} events could not be written: ${(error as Error).message}`);
      }
    }
    const lost = this.counts.dropped + this.counts.failed;
    if (lost > this.reportedLosses) {
      this.logger.error(`audit events lost so far: ${this.counts.dropped} dropped (queue full), ${this.counts.failed} failed to write`);
      this.reportedLosses = lost;
    }
  }
}

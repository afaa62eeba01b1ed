import { Logger } from '@nestjs/common';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, open, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { custom, integer, object, seconds } from '../core/option-schema.js';
import type { AuditEvent } from './audit-event.interface.js';
import type { AuditSink } from './audit-sink.interface.js';
import { IncidentLog } from './incident.log.js';

/**
 * A sink that takes events in batches (a database, a log shipper). A batch may come again after a retry
 * or from the spill file: a writer that must never hold an event twice keys it by `event.id` (the
 * TypeORM writer inserts with `ON CONFLICT (event_id) DO NOTHING`).
 */
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
  /** Further attempts at a failed batch before the store counts as down. Default 3. */
  retries?: number;
  /** Wait before the first retry, in seconds; doubled at each further one. Default 0.5. */
  retryDelay?: number;
  /** Longest wait between two attempts (retries and recovery probes), in seconds. Default 30. */
  maxRetryDelay?: number;
  /**
   * A directory for events the store could not take: while it is down they are appended to a file
   * there (fsynced), and written to the store once it answers again, also by the next process. `false`
   * (default): events the store still refuses after the retries are dropped and counted.
   */
  spillDirectory?: string | false;
}

const bufferedSinkOptions = object({
  maxQueue: integer({ min: 1, max: 10_000_000, default: 10_000 }),
  batchSize: integer({ min: 1, max: 10_000, default: 100 }),
  flushInterval: seconds({ min: 0.01, max: 3600, default: 1 }),
  retries: integer({ min: 0, max: 100, default: 3 }),
  retryDelay: seconds({ min: 0.001, max: 3600, default: 0.5 }),
  maxRetryDelay: seconds({ min: 0.001, max: 86_400, default: 30 }),
  spillDirectory: custom<string | false>('false or a directory path', (value) =>
    value === undefined || value === false ? false : typeof value === 'string' && value.trim() !== '' ? value : undefined,
  ),
});

export interface AuditSinkStats {
  /** Events waiting in memory. */
  queued: number;
  /** Events the store took (replayed ones included). */
  written: number;
  /** Event writes attempted again after a failure (a batch of 100 retried twice counts 200). */
  retried: number;
  /** Events appended to the spill file while the store was down. */
  spilled: number;
  /** Spilled events written to the store on recovery. */
  replayed: number;
  /** Events refused because the queue was full. */
  dropped: number;
  /** Events given up after the retries, with no spill directory. */
  failed: number;
}

const SPILL_PREFIX = 'zt-audit-spill-';

/**
 * Puts a slow or failing sink off the request path: `write()` only queues, a background loop writes
 * batches. A failed batch is retried with exponential backoff; when the store stays down the queue goes
 * to an append-only spill file (if `spillDirectory` is set), which is replayed once the store answers.
 * Replays are idempotent through each event's `id`, so a replay cut short (a crash) and done again
 * never duplicates an event. Every loss is counted (`stats()`) and reported in one line per incident.
 */
export class BufferedAuditSink implements AuditSink {
  private readonly queue: AuditEvent[] = [];
  private readonly counts = { written: 0, retried: 0, spilled: 0, replayed: 0, dropped: 0, failed: 0 };
  private readonly timer: NodeJS.Timeout;
  private tail: Promise<unknown> = Promise.resolve();
  private readonly logger = new Logger('ZeroTrustAudit');
  private readonly incidents = new IncidentLog(this.logger);
  private readonly options: ReturnType<typeof bufferedSinkOptions.parse>;
  /** Failed attempts in a row at the head batch (0 while the store answers). */
  private failures = 0;
  /** No write before this time (ms since epoch): the backoff. */
  private nextAttemptAt = 0;
  /** The store stayed down past the retries: new events go to the spill file until it answers again. */
  private down = false;
  /** Spill files (of this or an earlier process) waiting to be replayed; checked once at the first pass. */
  private spillPending: boolean;
  private spillFile?: string;

  constructor(
    private readonly inner: BatchAuditSink,
    options: BufferedAuditSinkOptions = {},
  ) {
    this.options = bufferedSinkOptions.parse(options, 'BufferedAuditSink options');
    this.spillPending = this.options.spillDirectory !== false;
    this.timer = setInterval(() => void this.pass(false), this.options.flushInterval * 1000);
    this.timer.unref();
  }

  write(event: AuditEvent): void {
    if (this.queue.length >= this.options.maxQueue) {
      this.counts.dropped++;
      this.incidents.record('audit_queue_full', 'audit events dropped: the queue is full (maxQueue)');
      return;
    }
    // The idempotency key of a retried or replayed write (AuditService gives every event one already).
    this.queue.push(event.id ? event : { ...event, id: randomUUID() });
    if (this.queue.length >= this.options.batchSize && (this.down || Date.now() >= this.nextAttemptAt)) void this.pass(false);
  }

  stats(): AuditSinkStats {
    return { queued: this.queue.length, ...this.counts };
  }

  /**
   * Writes everything queued now, ignoring the backoff (also called at shutdown). When the store does
   * not take it, the queue goes to the spill file if there is one, else it stays queued.
   */
  flush(): Promise<void> {
    return this.pass(true);
  }

  /** Flushes, then gives up what is still queued (counted as failed), and stops the loop. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    if (this.queue.length > 0) {
      this.counts.failed += this.queue.length;
      this.logger.error(`audit: ${this.queue.length} events could not be written before shutdown and are lost (set spillDirectory to keep them).`);
      this.queue.length = 0;
    }
    this.incidents.close();
  }

  /** One loop at a time: the timer, a full batch and a flush share it. */
  private pass(force: boolean): Promise<void> {
    const run = this.tail.then(() => this.drain(force));
    this.tail = run.catch((error: unknown) => this.incidents.record('audit_loop_failed', `audit loop failed (${(error as Error)?.message ?? String(error)})`));
    return run;
  }

  private async drain(force: boolean): Promise<void> {
    if (this.spillPending) {
      this.spillPending = false;
      if ((await this.spillFiles()).length > 0) this.down = true;
    }
    if (this.down) {
      // Probe with the oldest spilled events first (the store is up when they go in), at the backoff's pace;
      // meanwhile every pass moves the queue to disk, so a long outage never fills it.
      if ((!force && Date.now() < this.nextAttemptAt) || !(await this.replay())) {
        await this.spillQueue();
        return;
      }
      this.down = false;
      this.incidents.resolve('audit_store_down', 'audit store answers again: spilled events replayed');
    } else if (!force && Date.now() < this.nextAttemptAt) {
      return;
    }
    while (this.queue.length > 0) {
      const batch = this.queue.slice(0, this.options.batchSize);
      if (this.failures > 0) this.counts.retried += batch.length;
      try {
        await this.inner.writeBatch(batch);
      } catch (error) {
        this.onFailure(error, force);
        if (this.down || (force && this.options.spillDirectory !== false)) await this.spillQueue();
        else if (this.failures > this.options.retries) this.giveUp(batch.length);
        return;
      }
      this.queue.splice(0, batch.length);
      this.counts.written += batch.length;
      this.failures = 0;
      this.nextAttemptAt = 0;
    }
  }

  private onFailure(error: unknown, force: boolean): void {
    this.failures++;
    const delay = Math.min(this.options.retryDelay * 2 ** (this.failures - 1), this.options.maxRetryDelay) * 1000;
    this.nextAttemptAt = Date.now() + delay;
    this.incidents.record('audit_write_failed', `audit batch could not be written (${(error as Error)?.message ?? String(error)})`);
    if ((this.failures > this.options.retries || force) && this.options.spillDirectory !== false) {
      if (!this.down) this.incidents.record('audit_store_down', 'audit store stays down: events go to the spill file');
      this.down = true;
    }
  }

  /** No spill directory: the head batch is lost, counted, and the next one gets the same retries. */
  private giveUp(size: number): void {
    this.queue.splice(0, size);
    this.counts.failed += size;
    this.failures = 0;
    this.incidents.record('audit_events_lost', `audit events lost after ${this.options.retries} retries (no spill directory)`, size);
  }

  private async spillQueue(): Promise<void> {
    if (this.queue.length === 0 || this.options.spillDirectory === false) return;
    const events = this.queue.slice();
    try {
      await mkdir(this.options.spillDirectory, { recursive: true, mode: 0o700 });
      this.spillFile ??= join(this.options.spillDirectory, `${SPILL_PREFIX}${Date.now()}-${process.pid}-${randomBytes(4).toString('hex')}.jsonl`);
      const handle = await open(this.spillFile, 'a', 0o600);
      try {
        await handle.appendFile(events.map((event) => `${JSON.stringify(event)}\n`).join(''));
        // Spilled means kept: on disk before the events leave memory.
        await handle.sync();
      } finally {
        await handle.close();
      }
    } catch (error) {
      this.incidents.record('audit_spill_failed', `audit spill file could not be written (${(error as Error)?.message ?? String(error)})`);
      return;
    }
    this.queue.splice(0, events.length);
    this.counts.spilled += events.length;
  }

  /** Writes every spill file to the store, oldest first; false when the store still refuses. */
  private async replay(): Promise<boolean> {
    const files = await this.spillFiles();
    for (const file of files) {
      const events: AuditEvent[] = [];
      for (const line of (await readFile(file, 'utf8')).split('\n')) {
        if (line === '') continue;
        try {
          events.push(JSON.parse(line) as AuditEvent);
        } catch {
          // A line torn by a crash while it was appended was never acknowledged as spilled.
        }
      }
      for (let start = 0; start < events.length; start += this.options.batchSize) {
        const batch = events.slice(start, start + this.options.batchSize);
        try {
          await this.inner.writeBatch(batch);
        } catch (error) {
          this.onFailure(error, false);
          return false;
        }
        this.counts.written += batch.length;
        this.counts.replayed += batch.length;
      }
      // Removed only once all of it is in; a crash before this replays it again, and ids keep that harmless.
      await unlink(file).catch(() => undefined);
      if (file === this.spillFile) this.spillFile = undefined;
    }
    this.failures = 0;
    this.nextAttemptAt = 0;
    return true;
  }

  private async spillFiles(): Promise<string[]> {
    if (this.options.spillDirectory === false) return [];
    const directory = this.options.spillDirectory;
    try {
      return (await readdir(directory))
        .filter((name) => name.startsWith(SPILL_PREFIX) && name.endsWith('.jsonl'))
        .sort()
        .map((name) => join(directory, name));
    } catch {
      return [];
    }
  }
}

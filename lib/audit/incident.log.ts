import type { Logger } from '@nestjs/common';

interface Incident {
  /** Occurrences since the process started. */
  total: number;
  /** Occurrences not yet in a log line. */
  pending: number;
  lastLine: number;
  message: string;
  timer?: NodeJS.Timeout;
}

export interface IncidentLogOptions {
  /** Fewest milliseconds between two lines of one incident. Default 10 000. */
  intervalMs?: number;
  /** Called with each line's count (e.g. to publish an audit event per line, not per occurrence). */
  onReport?: (key: string, count: number, total: number) => void;
  now?: () => number;
}

/**
 * One log line per incident, with counts, instead of one per failed request: an outage answered 5 000
 * times is one WARN line when it starts and one every `intervalMs` while it lasts ("… ×4999 in the last
 * 10 s, 5000 in all"), never a stack per request. Each key (a store and its endpoint kind, a 503 reason)
 * is its own incident, so a noisy one never hides another. Totals per key feed the metrics.
 */
export class IncidentLog {
  private readonly incidents = new Map<string, Incident>();
  private readonly intervalMs: number;
  private readonly now: () => number;

  constructor(
    private readonly logger: Pick<Logger, 'warn' | 'log'>,
    private readonly options: IncidentLogOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /** Counts `count` occurrences of the incident `key`; logs a line now or within `intervalMs`. */
  record(key: string, message: string, count = 1): void {
    let incident = this.incidents.get(key);
    if (!incident) {
      incident = { total: 0, pending: 0, lastLine: Number.NEGATIVE_INFINITY, message };
      this.incidents.set(key, incident);
    }
    incident.total += count;
    incident.pending += count;
    incident.message = message;
    const now = this.now();
    if (now - incident.lastLine >= this.intervalMs) this.report(key, incident, now);
    else if (!incident.timer) {
      // The rest of the window is reported when it ends, even if no further occurrence comes to do it.
      incident.timer = setTimeout(() => this.report(key, incident, this.now()), incident.lastLine + this.intervalMs - now);
      incident.timer.unref();
    }
  }

  /** Ends an incident with one line (its pending count included). */
  resolve(key: string, message: string): void {
    const incident = this.incidents.get(key);
    if (!incident) return;
    if (incident.pending > 0) this.report(key, incident, this.now());
    this.logger.log(`${message} (${incident.total} in all)`);
  }

  /** Occurrences per key since the process started. */
  totals(): ReadonlyMap<string, number> {
    return new Map([...this.incidents].map(([key, incident]) => [key, incident.total]));
  }

  /** Writes pending counts and stops the timers (at shutdown). */
  close(): void {
    for (const [key, incident] of this.incidents) if (incident.pending > 0) this.report(key, incident, this.now());
  }

  private report(key: string, incident: Incident, now: number): void {
    if (incident.timer) clearTimeout(incident.timer);
    incident.timer = undefined;
    if (incident.pending === 0) return;
    const count = incident.pending;
    incident.pending = 0;
    incident.lastLine = now;
    const seconds = Math.round(this.intervalMs / 1000);
    this.logger.warn(`${incident.message} [${key}] ×${count}${count === incident.total ? '' : ` in the last ${seconds} s, ${incident.total} in all`}`);
    this.options.onReport?.(key, count, incident.total);
  }
}

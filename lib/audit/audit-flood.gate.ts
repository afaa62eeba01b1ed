import type { AuditEvent, AuditEventType } from './audit-event.interface.js';

export interface AuditFloodLimits {
  /** Seconds of one counting window. */
  readonly window: number;
  /** Identical events written per window; the rest are counted. */
  readonly maxIdentical: number;
  /** Events of one type written per window, whoever caused them; the rest are counted. */
  readonly maxPerType: number;
}

/**
 * Events a client can cause at will, as often as it likes: a bad token, a probe of another user's
 * record, a burst past a rate limit, a wrong second factor. Nothing else is ever held back: session,
 * token-reuse, lockout, store and anomaly events are rare and each one matters.
 */
const FLOODABLE: ReadonlySet<AuditEventType> = new Set<AuditEventType>(['auth.failure', 'access.denied', 'rate_limit.exceeded', 'mfa.failure']);
const MAX_TRACKED = 10_000;
const SWEEP_INTERVAL_MS = 1000;

interface Tally {
  readonly since: number;
  readonly sample: AuditEvent;
  written: number;
  repeated: number;
}

/**
 * Keeps a flood of client-triggered failures from crowding the audit trail (issue 13.10: one client
 * wrote 17 769 rows in 10 s): per window, the first `maxIdentical` identical events and at most
 * `maxPerType` events of a type go to the sinks; the others are counted, and when the window ends one
 * summary event per flood says how many (`details: { aggregated: 'identical' | 'type', repeated, since }`).
 * So a ring buffer keeps what came before a flood and a bounded queue has room for what comes after it.
 *
 * "Identical" is everything but the time, the request id and the details (a token fingerprint differs
 * with every garbage token): same type, outcome, reason, address, method, route and principal. The
 * per-type cap holds floods that vary those (many addresses, many routes). At most `MAX_TRACKED`
 * identities are tracked; past it new ones are held by the per-type cap only. Only sinks see this:
 * the module's listeners (metrics, anomaly rules) get every event.
 */
export class AuditFloodGate {
  private readonly identical = new Map<string, Tally>();
  /** Per type and reason: a flood of one kind of failure cannot use up the room of another kind. */
  private readonly byType = new Map<string, Tally>();
  private readonly windowMs: number;
  private lastSweep = Number.NEGATIVE_INFINITY;

  constructor(private readonly limits: AuditFloodLimits) {
    this.windowMs = limits.window * 1000;
  }

  /** Whether `event` goes to the sinks; `summaries` receives the summaries of windows that ended. */
  admit(event: AuditEvent, now: number, summaries: (event: AuditEvent) => void): boolean {
    if (now - this.lastSweep >= SWEEP_INTERVAL_MS) this.sweep(now, summaries);
    if (!FLOODABLE.has(event.type)) return true;
    const key = identityOf(event);
    let same = this.current(this.identical, key, 'identical', now, summaries);
    if (!same && this.identical.size < MAX_TRACKED) {
      same = { since: now, sample: event, written: 0, repeated: 0 };
      this.identical.set(key, same);
    }
    if (same && same.written >= this.limits.maxIdentical) {
      same.repeated++;
      return false;
    }
    const kind = `${event.type}\u0000${event.reason ?? ''}`;
    let ofType = this.current(this.byType, kind, 'type', now, summaries);
    if (!ofType) {
      ofType = { since: now, sample: event, written: 0, repeated: 0 };
      this.byType.set(kind, ofType);
    }
    if (ofType.written >= this.limits.maxPerType) {
      ofType.repeated++;
      return false;
    }
    ofType.written++;
    if (same) same.written++;
    return true;
  }

  /** Ends every window whose time is up, emitting the summaries of those that held events back. */
  sweep(now: number, summaries: (event: AuditEvent) => void): void {
    this.lastSweep = now;
    for (const [key, tally] of this.identical) if (now - tally.since >= this.windowMs) this.end(this.identical, key, tally, 'identical', now, summaries);
    for (const [key, tally] of this.byType) if (now - tally.since >= this.windowMs) this.end(this.byType, key, tally, 'type', now, summaries);
  }

  /** Ends every window now (at shutdown), so no count is lost. */
  drain(now: number, summaries: (event: AuditEvent) => void): void {
    for (const [key, tally] of this.identical) this.end(this.identical, key, tally, 'identical', now, summaries);
    for (const [key, tally] of this.byType) this.end(this.byType, key, tally, 'type', now, summaries);
  }

  /** The tally of `key` in its current window; a window whose time is up is ended (and summarized) first. */
  private current<K>(tallies: Map<K, Tally>, key: K, aggregated: 'identical' | 'type', now: number, summaries: (event: AuditEvent) => void): Tally | undefined {
    const tally = tallies.get(key);
    if (tally && now - tally.since >= this.windowMs) {
      this.end(tallies, key, tally, aggregated, now, summaries);
      return undefined;
    }
    return tally;
  }

  private end<K>(tallies: Map<K, Tally>, key: K, tally: Tally, aggregated: 'identical' | 'type', now: number, summaries: (event: AuditEvent) => void): void {
    tallies.delete(key);
    if (tally.repeated === 0) return;
    const { sample } = tally;
    const since = new Date(tally.since).toISOString();
    const time = new Date(now).toISOString();
    summaries(
      aggregated === 'identical'
        ? {
            type: sample.type,
            outcome: sample.outcome,
            reason: sample.reason,
            ip: sample.ip,
            method: sample.method,
            route: sample.route,
            principal: sample.principal,
            time,
            details: { aggregated, repeated: tally.repeated, since, ...(accountOf(sample) ? { account: accountOf(sample) } : {}) },
          }
        : { type: sample.type, outcome: sample.outcome, reason: sample.reason, time, details: { aggregated, repeated: tally.repeated, since } },
    );
  }
}

/** The (hashed) account a failed login names: guesses at different accounts are different events. */
function accountOf(event: AuditEvent): string | undefined {
  const account = event.details?.account;
  return typeof account === 'string' ? account : undefined;
}

function identityOf(event: AuditEvent): string {
  return [event.type, event.outcome, event.reason, event.ip, event.method, event.route, event.principal?.subject, event.principal?.sessionId, accountOf(event)].join('\u0000');
}

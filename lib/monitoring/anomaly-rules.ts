import type { AuditEvent } from '../audit/audit-event.interface.js';

export type AnomalyAction = 'none' | 'revoke_session' | 'block';

export interface AnomalyFinding {
  rule: string;
  action: AnomalyAction;
  /** How long a `block` lasts, in milliseconds. */
  blockMs?: number;
  subject?: string;
  sessionId?: string;
  details: Record<string, string | number>;
}

/** A rule sees every audit event and may report a finding. Keep its state bounded. */
export interface AnomalyRule {
  readonly name: string;
  inspect(event: AuditEvent, now: number): AnomalyFinding | undefined;
}

const MAX_TRACKED = 10_000;

/** Sliding-window hit lists per key, bounded in keys and in hits per key. */
class Windows<T> {
  private readonly entries = new Map<string, Array<{ at: number; value: T }>>();

  constructor(
    private readonly windowMs: number,
    private readonly maxHits: number,
  ) {}

  add(key: string, value: T, now: number): Array<{ at: number; value: T }> {
    const hits = (this.entries.get(key) ?? []).filter((hit) => now - hit.at < this.windowMs);
    hits.push({ at: now, value });
    if (hits.length > this.maxHits) hits.splice(0, hits.length - this.maxHits);
    this.entries.delete(key);
    if (this.entries.size >= MAX_TRACKED) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, hits);
    return hits;
  }

  clear(key: string): void {
    this.entries.delete(key);
  }
}

const PROBE_REASONS = new Set(['not_owner', 'not_found', 'parent_mismatch']);

/**
 * Object-id probing (OWASP API1): one principal collecting `threshold` ownership denials within
 * `windowMs`. Default action: revoke the session it used.
 */
export function bolaProbeRule(options: { threshold?: number; windowMs?: number; action?: AnomalyAction; blockMs?: number } = {}): AnomalyRule {
  const threshold = options.threshold ?? 10;
  const windows = new Windows<string>(options.windowMs ?? 60_000, threshold);
  return {
    name: 'bola_probe',
    inspect(event, now) {
      if (event.type !== 'access.denied' || !PROBE_REASONS.has(event.reason ?? '') || !event.principal) return undefined;
      const hits = windows.add(event.principal.subject, String(event.details?.resourceId ?? ''), now);
      if (hits.length < threshold) return undefined;
      windows.clear(event.principal.subject);
      return {
        rule: 'bola_probe',
        action: options.action ?? 'revoke_session',
        blockMs: options.blockMs ?? 15 * 60_000,
        subject: event.principal.subject,
        sessionId: event.principal.sessionId,
        details: { denials: hits.length, distinctIds: new Set(hits.map((hit) => hit.value)).size },
      };
    },
  };
}

/**
 * Credential stuffing against one account: failed logins for it from `distinctIps` different
 * addresses within `windowMs`. Reported (the lockout already slows it); no action by default.
 */
export function distributedLoginFailureRule(options: { distinctIps?: number; windowMs?: number } = {}): AnomalyRule {
  const distinctIps = options.distinctIps ?? 5;
  const windows = new Windows<string>(options.windowMs ?? 10 * 60_000, 1000);
  return {
    name: 'distributed_login_failure',
    inspect(event, now) {
      const account = event.details?.account;
      if (event.type !== 'auth.failure' || event.reason !== 'bad_credentials' || typeof account !== 'string') return undefined;
      const hits = windows.add(account, event.ip ?? 'unknown', now);
      const ips = new Set(hits.map((hit) => hit.value)).size;
      if (ips < distinctIps) return undefined;
      windows.clear(account);
      return { rule: 'distributed_login_failure', action: 'none', details: { account, addresses: ips, failures: hits.length } };
    },
  };
}

import type { AuditEvent } from '../audit/audit-event.interface.js';
import { integer, object, oneOf, seconds } from '../core/option-schema.js';

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

const bolaProbeOptions = object({
  /** Ownership denials of one principal that make a probe. Default 10. */
  threshold: integer({ min: 2, max: 10_000, default: 10 }),
  /** Window they are counted in, in seconds. Default 60. */
  window: seconds({ min: 1, max: 86_400, default: 60 }),
  /** What to do: revoke the session used (default), block the principal, or only report. */
  action: oneOf<AnomalyAction>(['revoke_session', 'block', 'none'], { default: 'revoke_session' }),
  /** How long a block lasts, in seconds (also when a session cannot be revoked). Default 900. */
  block: seconds({ min: 1, max: 7 * 86_400, default: 900 }),
});

/**
 * Object-id probing (OWASP API1): one principal collecting `threshold` ownership denials within
 * `window` seconds. Default action: revoke the session it used.
 */
export function bolaProbeRule(given: { threshold?: number; window?: number; action?: AnomalyAction; block?: number } = {}): AnomalyRule {
  const options = bolaProbeOptions.parse(given, 'bolaProbeRule()');
  const threshold = options.threshold;
  const windows = new Windows<string>(options.window * 1000, threshold);
  return {
    name: 'bola_probe',
    inspect(event, now) {
      if (event.type !== 'access.denied' || !PROBE_REASONS.has(event.reason ?? '') || !event.principal) return undefined;
      const hits = windows.add(event.principal.subject, String(event.details?.resourceId ?? ''), now);
      if (hits.length < threshold) return undefined;
      windows.clear(event.principal.subject);
      return {
        rule: 'bola_probe',
        action: options.action,
        blockMs: options.block * 1000,
        subject: event.principal.subject,
        sessionId: event.principal.sessionId,
        details: { denials: hits.length, distinctIds: new Set(hits.map((hit) => hit.value)).size },
      };
    },
  };
}

const distributedLoginFailureOptions = object({
  /** Different client addresses failing on one account that make an attack. Default 5. */
  distinctIps: integer({ min: 2, max: 10_000, default: 5 }),
  /** Window they are counted in, in seconds. Default 600. */
  window: seconds({ min: 1, max: 86_400, default: 600 }),
});

/**
 * Credential stuffing against one account: failed logins for it from `distinctIps` different
 * addresses within `window` seconds. Reported (the lockout already slows it); no action by default.
 */
export function distributedLoginFailureRule(given: { distinctIps?: number; window?: number } = {}): AnomalyRule {
  const options = distributedLoginFailureOptions.parse(given, 'distributedLoginFailureRule()');
  const distinctIps = options.distinctIps;
  const windows = new Windows<string>(options.window * 1000, 1000);
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

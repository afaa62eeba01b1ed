/** Every audit event type the module emits. Later features add to this list, never rename. */
export type AuditEventType =
  | 'auth.success'
  | 'auth.failure'
  | 'access.denied'
  | 'session.created'
  | 'session.revoked'
  | 'token.refreshed'
  | 'session.grants_changed'
  | 'token.reuse_detected'
  | 'mfa.enrolled'
  | 'mfa.disabled'
  | 'mfa.failure'
  | 'password.changed'
  | 'rate_limit.exceeded'
  | 'auth.lockout'
  | 'store.unavailable'
  | 'anomaly.detected'
  | 'principal.blocked'
  | 'principal.unblocked';

export type AuditOutcome = 'success' | 'failure' | 'denied';

/** One structured security event: when, where, who, what. Never a token, password or secret. */
export interface AuditEvent {
  type: AuditEventType;
  /** ISO 8601 time the event was recorded. */
  time: string;
  requestId?: string;
  principal?: { subject: string; sessionId?: string };
  ip?: string;
  method?: string;
  /** The route pattern (`/notes/:id`), not the raw URL, so ids and query strings stay out of logs. */
  route?: string;
  outcome: AuditOutcome;
  /** Machine-readable cause, e.g. `expired`, `bad_signature`, `wrong_audience`. */
  reason?: string;
  /** Extra non-secret facts (e.g. a token's `kid` or a short hash of its `jti`). */
  details?: Record<string, string | number | boolean | undefined>;
}

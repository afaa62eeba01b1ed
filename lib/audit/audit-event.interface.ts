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
  | 'principal.unblocked'
  | 'api_key.created'
  | 'api_key.revoked'
  | 'client.created'
  | 'client.secret_rotated'
  | 'client.revoked'
  | 'client.token_issued'
  | 'outbound.call'
  | 'pow.rejected'
  | 'account.registration_requested'
  | 'account.verified'
  | 'password_reset.requested'
  | 'password_reset.completed'
  | 'password_reset.rejected'
  | 'passkey.registered'
  | 'passkey.used'
  | 'passkey.removed'
  | 'passkey.rejected';

export type AuditOutcome = 'success' | 'failure' | 'denied';

/** One structured security event: when, where, who, what. Never a token, password or secret. */
export interface AuditEvent {
  /**
   * A random UUID given at publication: the idempotency key of a durable write, so an event retried or
   * replayed from a spill file is stored once.
   */
  id?: string;
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

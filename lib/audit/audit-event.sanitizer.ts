import type { AuditEvent } from './audit-event.interface.js';

const MAX_VALUE_LENGTH = 256;
// C0 controls, DEL, C1 controls, and the Unicode line/paragraph separators.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;
const HAS_CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/**
 * User-supplied text (an e-mail, a route, a reason) is made inert for every sink: control characters
 * and line breaks become visible escapes, so a newline in an e-mail cannot forge a second log line or
 * a fake column in a text log, and values are cut to a bounded length.
 */
export function sanitizeAuditValue(value: string): string {
  // Fast path for the common case (every event of every request goes through here).
  if (value.length <= MAX_VALUE_LENGTH && !HAS_CONTROL.test(value)) return value;
  const escaped = value.replace(CONTROL, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return escaped.length > MAX_VALUE_LENGTH ? `${escaped.slice(0, MAX_VALUE_LENGTH)}…` : escaped;
}

export function sanitizeAuditEvent(event: AuditEvent): AuditEvent {
  const text = (value: string | undefined) => (value === undefined ? undefined : sanitizeAuditValue(String(value)));
  return {
    ...event,
    requestId: text(event.requestId),
    ip: text(event.ip),
    method: text(event.method),
    route: text(event.route),
    reason: text(event.reason),
    principal: event.principal ? { subject: sanitizeAuditValue(String(event.principal.subject)), sessionId: text(event.principal.sessionId) } : undefined,
    details: event.details
      ? Object.fromEntries(Object.entries(event.details).map(([key, value]) => [sanitizeAuditValue(key), typeof value === 'string' ? sanitizeAuditValue(value) : value]))
      : undefined,
  };
}

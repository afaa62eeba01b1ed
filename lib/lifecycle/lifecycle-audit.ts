import type { AuditEventType } from '../audit/audit-event.interface.js';
import type { AuditEventInput, AuditService } from '../audit/audit.service.js';

/** The audit events of the lifecycle flows (a subset of the audit slice's list). */
export type LifecycleEventType = Extract<AuditEventType, `pow.${string}` | `account.${string}` | `password_reset.${string}` | `passkey.${string}`>;

/** Publishes a lifecycle event: the type narrowed to the lifecycle's own events. */
export function publishLifecycleEvent(audit: AuditService, event: Omit<AuditEventInput, 'type'> & { type: LifecycleEventType }): void {
  audit.publish(event);
}

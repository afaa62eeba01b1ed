import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import type { AuditEvent } from '../audit/audit-event.interface.js';
import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../core/clock.js';
import { SessionService } from '../sessions/session.service.js';
import type { AnomalyFinding } from './anomaly-rules.js';
import { MONITORING_CONFIG } from './monitoring.internal-constants.js';
import type { MonitoringConfig } from './monitoring.options.js';

const MAX_BLOCKED = 10_000;

/**
 * Runs the configured rules over the event stream and acts on what they find: emits
 * `anomaly.detected`, and revokes the session or blocks the principal for a while. Blocks are held
 * in this instance (the revocation, being in the database, reaches every instance).
 */
@Injectable()
export class AnomalyDetector implements OnModuleInit {
  private readonly logger = new Logger('ZeroTrustAnomaly');
  private readonly blocked = new Map<string, number>();

  constructor(
    private readonly audit: AuditService,
    private readonly sessions: SessionService,
    @Inject(MONITORING_CONFIG) private readonly config: MonitoringConfig,
    private readonly clock: Clock,
  ) {}

  onModuleInit(): void {
    if (this.config.anomalyRules.length) this.audit.subscribe((event) => this.inspect(event));
  }

  /** Whether the principal is under a temporary block. Checked on every authorized request. */
  isBlocked(subject: string): boolean {
    const until = this.blocked.get(subject);
    if (until === undefined) return false;
    if (until > this.clock.now()) return true;
    this.blocked.delete(subject);
    return false;
  }

  private inspect(event: AuditEvent): void {
    if (event.type === 'anomaly.detected') return;
    const now = this.clock.now();
    for (const rule of this.config.anomalyRules) {
      const finding = rule.inspect(event, now);
      if (finding) void this.act(finding, event);
    }
  }

  private async act(finding: AnomalyFinding, event: AuditEvent): Promise<void> {
    let action = finding.action;
    try {
      if (action === 'revoke_session') {
        if (this.sessions.enabled && finding.sessionId) await this.sessions.revoke(finding.sessionId, `anomaly:${finding.rule}`);
        else action = 'block';
      }
      if (action === 'block' && finding.subject) {
        if (this.blocked.size >= MAX_BLOCKED) this.blocked.delete(this.blocked.keys().next().value as string);
        this.blocked.set(finding.subject, this.clock.now() + (finding.blockMs ?? 15 * 60_000));
      }
    } catch (error) {
      this.logger.error(`anomaly action ${action} failed: ${(error as Error).message}`);
    }
    this.audit.publish({
      type: 'anomaly.detected',
      outcome: 'denied',
      reason: finding.rule,
      requestId: event.requestId,
      ip: event.ip,
      principal: finding.subject ? { subject: finding.subject, sessionId: finding.sessionId } : undefined,
      details: { action, ...finding.details },
    });
  }
}

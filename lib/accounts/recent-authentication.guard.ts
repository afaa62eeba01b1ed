import { type CanActivate, type ExecutionContext, ForbiddenException, Inject, Injectable, type OnModuleInit, UnauthorizedException } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { AUTH_CONFIG } from '../auth/auth.internal-constants.js';
import type { AuthConfig } from '../auth/auth.options.js';
import { Clock } from '../core/clock.js';
import { rawResponse } from '../core/request-context.js';
import { contextOfExecution } from '../core/request-view.js';
import { RoutePlans } from '../core/route-plan.js';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';
import { MFA_ACR, MFA_METHODS } from '../mfa/require-mfa.decorator.js';
import { ACCOUNTS_CONFIG } from './accounts.internal-constants.js';
import type { AccountsConfig } from './accounts.options.js';
import { ACCOUNTS_PLAN } from './accounts.plan.js';
import { MfaService } from './mfa.service.js';

/**
 * Enforces `@RequireRecentAuth()` after authentication and authorization: the token's `auth_time` (the
 * session's last login or reauthentication) must be within `maxAge`, and for an account with an active
 * second factor the session must have proved it (`amr`). Answers otherwise with RFC 9470's challenge.
 */
@Injectable()
export class RecentAuthenticationGuard implements CanActivate, OnModuleInit {
  constructor(
    private readonly plans: RoutePlans,
    private readonly mfa: MfaService,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    @Inject(ACCOUNTS_CONFIG) private readonly config: AccountsConfig | false,
    @Inject(AUTH_CONFIG) private readonly auth: AuthConfig,
  ) {
    plans.register(ACCOUNTS_PLAN);
  }

  onModuleInit(): void {
    if (this.config === false) {
      throw new ZeroTrustConfigurationError('@RequireRecentAuth() is used but the `accounts` option is off: turn it on (`accounts: { directory, totpEncryptionKey }`).');
    }
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const requirement = this.plans.of(context).get(ACCOUNTS_PLAN);
    if (!requirement) return true;
    const principal = contextOfExecution(context)?.principal;
    if (!principal) throw new UnauthorizedException();
    const maxAge = requirement.maxAge ?? (this.config as AccountsConfig).reauthenticationMaxAge;
    const deny = (reason: string) =>
      this.audit.publish({
        type: 'access.denied',
        outcome: 'denied',
        reason,
        principal: { subject: principal.subject, sessionId: principal.sessionId },
        details: { rule: 'RequireRecentAuth', maxAge },
      });
    // Only this app's session tokens carry an auth_time it vouches for; another issuer's user reauthenticates there.
    if (principal.issuer !== this.auth.issuer || !principal.sessionId) {
      deny('reauthentication_unavailable');
      throw new ForbiddenException('Access denied');
    }
    const authTime = principal.claims.auth_time;
    const now = this.clock.now() / 1000;
    const recent = typeof authTime === 'number' && Number.isFinite(authTime) && authTime <= now + this.auth.clockTolerance && now - authTime <= maxAge;
    const needsFactor = await this.mfa.isEnabled(principal.subject);
    const factorProven = principal.authMethods.some((method) => MFA_METHODS.includes(method));
    if (recent && (!needsFactor || factorProven)) return true;
    deny(recent ? 'second_factor_required' : 'reauthentication_required');
    const description = needsFactor ? 'Authenticate again with your second factor' : 'Authenticate again';
    // RFC 9470 §3: the challenge a client answers by reauthenticating, then retrying with the new token.
    const challenge = [`Bearer error="insufficient_user_authentication"`, `error_description="${description}"`, `max_age="${Math.floor(maxAge)}"`];
    if (needsFactor) challenge.push(`acr_values="${MFA_ACR}"`);
    if (context.getType() === 'http') rawResponse(context.switchToHttp().getResponse<object>()).setHeader('WWW-Authenticate', challenge.join(', '));
    throw new UnauthorizedException('Reauthentication required');
  }
}

import { type ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import { createHash } from 'node:crypto';
import { AuditService } from '../audit/audit.service.js';
import type { ZeroTrustPrincipal } from '../core/principal.interface.js';
import { type RequestContext, RequestContexts, rawResponse } from '../core/request-context.js';
import { type RoutePlan, RoutePlans } from '../core/route-plan.js';
import { AccessTokenRejection, type AuthFailureReason } from './access-token-rejection.js';
import { AccessTokenStrategy } from './access-token.strategy.js';
import { AuthObserver } from './auth-observer.port.js';
import { AUTH_PLAN } from './auth.plan.js';
import { bearerToken } from './bearer-token.js';
import { VerifiedTokenCache } from './verified-token.cache.js';

type HttpRequest = { headers?: Record<string, unknown>; user?: unknown; route?: { path?: string }; routeOptions?: { url?: string } };

/**
 * The global deny-by-default guard: every request needs a valid access token unless its route or
 * controller is `@Public()`. Clients get one uniform 401; the typed reason goes to the audit trail.
 * Registered by class: use it with `@UseGuards(JwtAuthGuard)`, or subclass it (override the protected
 * hooks) and register the subclass with the `enhancers.authGuard` option.
 */
@Injectable()
export class JwtAuthGuard extends AuthGuard() {
  /** Tokens verified before: their signature is not checked again, their expiry and session are. */
  protected readonly verified = new VerifiedTokenCache();

  constructor(
    protected readonly strategy: AccessTokenStrategy,
    protected readonly audit: AuditService,
    protected readonly plans: RoutePlans,
    protected readonly observer: AuthObserver,
  ) {
    super({ defaultStrategy: strategy.passportName, session: false });
    plans.register(AUTH_PLAN);
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') {
      // Deny-by-default for every transport this guard does not understand yet.
      throw new UnauthorizedException();
    }
    const plan = this.plans.of(context);
    const request = this.getRequest(context) as HttpRequest;
    return RequestContexts.within(request, async (requestContext) => {
      requestContext.route ??= request.route?.path ?? request.routeOptions?.url;
      if (this.isPublic(plan)) return true;
      const started = performance.now();
      try {
        if (await this.fromCache(request, requestContext)) return true;
        return (await super.canActivate(context)) as boolean;
      } finally {
        this.observer.observeVerification((performance.now() - started) / 1000, requestContext.principal ? 'success' : 'failure');
      }
    });
  }

  /** Whether the route skips authentication: `@Public()`, read from the route's plan. */
  protected isPublic(plan: RoutePlan): boolean {
    return plan.get(AUTH_PLAN).isPublic;
  }

  /**
   * A token verified before skips the signature check (passport is bypassed for it), but not the
   * expiry and session checks, which `assertStillValid` repeats. Any failure falls through to the full path.
   */
  private async fromCache(request: HttpRequest, requestContext: RequestContext): Promise<boolean> {
    const token = bearerToken(request.headers?.authorization);
    const principal = token ? this.verified.get(token) : undefined;
    if (!token || !principal) return false;
    try {
      await this.strategy.verifier.assertStillValid(principal);
    } catch {
      this.verified.delete(token);
      return false;
    }
    this.accept(request, requestContext, principal);
    return true;
  }

  override handleRequest<TUser = ZeroTrustPrincipal>(error: unknown, user: unknown, info: unknown, context: ExecutionContext): TUser {
    const request = this.getRequest(context) as HttpRequest;
    const requestContext = RequestContexts.of(request);
    if (!error && user) {
      const principal = user as ZeroTrustPrincipal;
      const token = bearerToken(request.headers?.authorization);
      if (token) this.verified.set(token, principal);
      this.accept(request, requestContext, principal);
      return user as TUser;
    }
    // A store or provider failure is not the client's fault: it propagates (the filter answers 5xx).
    if (error && !(error instanceof AccessTokenRejection)) throw error;
    const reason: AuthFailureReason = (error ?? info) instanceof AccessTokenRejection ? ((error ?? info) as AccessTokenRejection).reason : 'invalid_token';
    this.audit.publish({ type: 'auth.failure', outcome: 'failure', reason, details: this.tokenFingerprint(request) });
    this.challenge(context, reason === 'missing_token');
    throw new UnauthorizedException();
  }

  private accept(request: HttpRequest, requestContext: RequestContext, principal: ZeroTrustPrincipal): void {
    request.user = principal;
    requestContext.principal = principal;
    if (this.audit.publishesAuthSuccess) {
      this.audit.publish({ type: 'auth.success', outcome: 'success', principal: { subject: principal.subject, sessionId: principal.sessionId } });
    } else {
      this.audit.count('auth.success');
    }
  }

  /** RFC 6750 §3: a 401 names the scheme, and says `invalid_token` when a token was presented. */
  protected challenge(context: ExecutionContext, missing: boolean): void {
    const value = missing ? 'Bearer' : 'Bearer error="invalid_token"';
    rawResponse(context.switchToHttp().getResponse<object>()).setHeader('WWW-Authenticate', value);
  }

  /** A short hash lets an operator correlate failures of one token without the token in logs. */
  private tokenFingerprint(request: HttpRequest): Record<string, string> | undefined {
    const header = request.headers?.authorization;
    if (typeof header !== 'string' || header.length === 0) return undefined;
    return { tokenSha256: createHash('sha256').update(header).digest('hex').slice(0, 12) };
  }
}

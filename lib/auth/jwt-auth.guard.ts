import { type ExecutionContext, HttpException, HttpStatus, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import { createHash } from 'node:crypto';
import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../core/clock.js';
import type { ZeroTrustPrincipal } from '../core/principal.interface.js';
import { type RequestContext, RequestContexts, rawResponse } from '../core/request-context.js';
import { type RoutePlan, RoutePlans } from '../core/route-plan.js';
import { addressBucket } from '../http/client-ip.js';
import { StoreFailurePolicy } from '../store/store-failure.policy.js';
import { ZERO_TRUST_STORE } from '../store/store.internal-constants.js';
import type { ZeroTrustStore } from '../store/zero-trust-store.js';
import { AccessTokenRejection, type AuthFailureReason } from './access-token-rejection.js';
import { AccessTokenStrategy } from './access-token.strategy.js';
import { AuthFailureBudget } from './auth-failure.budget.js';
import { AuthObserver } from './auth-observer.port.js';
import { AUTH_CONFIG } from './auth.internal-constants.js';
import type { AuthConfig } from './auth.options.js';
import { AUTH_PLAN } from './auth.plan.js';
import { bearerToken } from './bearer-token.js';
import { VerifiedTokenCache } from './verified-token.cache.js';

type HttpRequest = { headers?: Record<string, unknown>; user?: unknown; route?: { path?: string }; routeOptions?: { url?: string } };

/**
 * Rejections that count against the address's failure budget. A provider that cannot be reached is
 * not the client's doing: counting it would lock every user of that provider out during its outage.
 */
const NOT_COUNTED: ReadonlySet<AuthFailureReason> = new Set(['issuer_unavailable']);

/** The guard's own 401: the same body as any `UnauthorizedException`, with the reason kept for the budget. */
class CredentialsRejected extends UnauthorizedException {
  constructor(readonly reason: AuthFailureReason) {
    super();
  }
}

/**
 * The global deny-by-default guard: every request needs a valid access token unless its route or
 * controller is `@Public()`. Clients get one uniform 401; the typed reason goes to the audit trail.
 * An address that failed `authFailureLimit.limit` times within the window gets 429 before anything of
 * it is verified. Registered by class: use it with `@UseGuards(JwtAuthGuard)`, or subclass it
 * (override the protected hooks) and register the subclass with the `enhancers.authGuard` option.
 */
@Injectable()
export class JwtAuthGuard extends AuthGuard() {
  /** Tokens verified before: their signature is not checked again; their key, expiry and session are (see VerifiedTokenCache). */
  protected readonly verified = new VerifiedTokenCache();
  /** Failed authentications per client address, counted in the store. */
  protected readonly failureBudget: AuthFailureBudget;

  constructor(
    protected readonly strategy: AccessTokenStrategy,
    protected readonly audit: AuditService,
    protected readonly plans: RoutePlans,
    protected readonly observer: AuthObserver,
    @Inject(AUTH_CONFIG) config: AuthConfig,
    @Inject(ZERO_TRUST_STORE) store: ZeroTrustStore,
    storeFailures: StoreFailurePolicy,
    clock: Clock,
  ) {
    super({ defaultStrategy: strategy.passportName, session: false });
    plans.register(AUTH_PLAN);
    this.failureBudget = new AuthFailureBudget(config.authFailureLimit, store, storeFailures, clock);
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
        // A token already verified costs no cryptography, so it passes even from an address over budget
        // (a neighbour behind the same NAT as an attacker keeps working).
        if (await this.fromCache(request, requestContext)) return true;
        const bucket = addressBucket(requestContext.clientIp);
        const retryAfter = this.failureBudget.retryAfter(bucket);
        if (retryAfter > 0) this.refuseOverBudget(context, retryAfter);
        try {
          return (await super.canActivate(context)) as boolean;
        } catch (error) {
          if (error instanceof CredentialsRejected && !NOT_COUNTED.has(error.reason)) await this.failureBudget.recordFailure(bucket);
          throw error;
        }
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
   * A token verified before skips the signature check (passport is bypassed for it) while the key that
   * verified it is still trusted, but not the expiry, session and deny-list checks, which
   * `assertStillValid` repeats. Any failure falls through to the full path.
   */
  private async fromCache(request: HttpRequest, requestContext: RequestContext): Promise<boolean> {
    const { token } = bearerToken(request);
    const principal = token ? this.verified.get(token) : undefined;
    if (!token || !principal) return false;
    try {
      await this.strategy.verifier.assertStillValid(principal);
    } catch {
      // Not an answer: the full path asks again and reports its own reason (or the store's failure).
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
      const { token } = bearerToken(request);
      const key = this.strategy.verifier.keyBindingOf(principal);
      if (token && key) this.verified.set(token, principal, key);
      this.accept(request, requestContext, principal);
      return user as TUser;
    }
    // A store or provider failure is not the client's fault: it propagates (the filter answers 5xx).
    if (error && !(error instanceof AccessTokenRejection)) throw error;
    const reason: AuthFailureReason = (error ?? info) instanceof AccessTokenRejection ? ((error ?? info) as AccessTokenRejection).reason : 'invalid_token';
    this.audit.publish({ type: 'auth.failure', outcome: 'failure', reason, details: this.tokenFingerprint(request) });
    this.challenge(context, reason === 'missing_token');
    throw new CredentialsRejected(reason);
  }

  private accept(request: HttpRequest, requestContext: RequestContext, principal: ZeroTrustPrincipal): void {
    request.user = principal;
    requestContext.principal = principal;
    if (this.audit.publishesAuthSuccess) {
      this.audit.publish({ type: 'auth.success', outcome: 'success', principal: { subject: principal.ownerId, sessionId: principal.sessionId } });
    } else {
      this.audit.count('auth.success');
    }
  }

  /** RFC 6585 §4: 429 with Retry-After; nothing of the request was verified. */
  private refuseOverBudget(context: ExecutionContext, retryAfter: number): never {
    this.audit.publish({ type: 'rate_limit.exceeded', outcome: 'denied', reason: 'auth_failures', details: { retryAfter } });
    rawResponse(context.switchToHttp().getResponse<object>()).setHeader('Retry-After', String(retryAfter));
    throw new HttpException('Too many requests', HttpStatus.TOO_MANY_REQUESTS);
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

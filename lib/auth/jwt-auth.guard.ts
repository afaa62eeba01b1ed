import { type ExecutionContext, HttpException, HttpStatus, Inject, Injectable, Optional, UnauthorizedException } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import { createHash } from 'node:crypto';
import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../core/clock.js';
import type { ZeroTrustPrincipal } from '../core/principal.interface.js';
import { type RequestContext, RequestContexts, rawResponse } from '../core/request-context.js';
import { type RoutePlan, RoutePlans } from '../core/route-plan.js';
import { contextOf, type RequestView, requestView } from '../core/request-view.js';
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
import { bearerToken, messageBearerToken, socketBearerToken } from './bearer-token.js';
import { ServiceTokenReplayed, ServiceTokens } from './service-tokens.js';
import { SenderConstraintCheck, SenderConstraintRejected } from './sender-constraint.check.js';
import { VerifiedTokenCache } from './verified-token.cache.js';

type HttpRequest = { headers?: Record<string, unknown>; user?: unknown; route?: { path?: string }; routeOptions?: { url?: string } };

/**
 * Rejections that count against the address's failure budget. A provider that cannot be reached is
 * not the client's doing: counting it would lock every user of that provider out during its outage.
 */
const NOT_COUNTED: ReadonlySet<AuthFailureReason> = new Set(['issuer_unavailable']);

/** A sender-constrained token presented where no proof of possession can be checked (a WebSocket message). */
class SocketBoundToken extends Error {}

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
    /** Verifies the service identity of microservice messages (absent in a subclass that does not pass it: messages are then refused). */
    @Optional() protected readonly serviceTokens?: ServiceTokens,
  ) {
    super({ defaultStrategy: strategy.passportName, session: false });
    plans.register(AUTH_PLAN);
    this.failureBudget = new AuthFailureBudget(config.authFailureLimit, store, storeFailures, clock);
  }

  /** DPoP / sender-constraint check of every accepted token, the cached ones too (a proof is per request). */
  @Inject(SenderConstraintCheck) protected readonly senderConstraint!: SenderConstraintCheck;

  override canActivate(context: ExecutionContext): Promise<boolean> {
    // Not `async`: the HTTP path's promise is returned as it is instead of being wrapped in another
    // (two more turns of the microtask queue and a promise per request, issue 16). Every failure still
    // arrives as a rejected promise, as from an async method.
    try {
      return this.activate(context);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  private activate(context: ExecutionContext): Promise<boolean> {
    const view = requestView(context);
    // Deny-by-default for every transport this guard does not understand.
    if (!view) throw new UnauthorizedException();
    const plan = this.plans.of(context);
    const requestContext = contextOf(view);
    if (view.transport === 'rpc') return RequestContexts.enter(requestContext, () => this.authenticateMessage(plan, view, requestContext));
    if (view.transport === 'ws') return RequestContexts.enter(requestContext, () => this.authenticateSocketMessage(plan, view, requestContext));
    // HTTP, and GraphQL over HTTP: the bearer token of the HTTP request that carries the call.
    const request = view.httpRequest as HttpRequest | undefined;
    if (!request) {
      if (this.isPublic(plan)) return Promise.resolve(true);
      throw new UnauthorizedException();
    }
    return RequestContexts.enter(requestContext, async () => {
      requestContext.route ??= view.route;
      if (this.isPublic(plan)) return true;
      // Each step below answers without a promise when it has nothing to wait for (issue 16: a request
      // made 20 promises here); each still throws or rejects with the same errors as before.
      // A token verified before: counted as a success by the audit tally (`zt_auth_success_total`), not
      // timed (a histogram observation cost more than the cache hit itself; issue 16).
      const fromCache = this.fromCache(request);
      const cached = fromCache instanceof Promise ? await fromCache : fromCache;
      if (cached) {
        // A token already verified costs no cryptography, so it passes even from an address over budget
        // (a neighbour behind the same NAT as an attacker keeps working). A sender-constrained one does
        // not: its proof costs a signature check, and guessing proofs is what the budget stops (issue 19).
        if (this.senderConstraint.isBound(cached)) {
          const retryAfter = this.failureBudget.retryAfter(addressBucket(requestContext.clientIp));
          if (retryAfter > 0) this.refuseOverBudget(view, retryAfter);
        }
        this.accept(request, requestContext, cached);
        const bound = this.enforceBinding(context, request, requestContext);
        return bound === true ? true : await bound;
      }
      const bucket = addressBucket(requestContext.clientIp);
      const started = performance.now();
      try {
        const retryAfter = this.failureBudget.retryAfter(bucket);
        if (retryAfter > 0) this.refuseOverBudget(view, retryAfter);
        try {
          const authenticated = this.authenticateRequest(context);
          if (authenticated !== true) await authenticated;
          const bound = this.enforceBinding(context, request, requestContext);
          return bound === true ? true : await bound;
        } catch (error) {
          if (error instanceof CredentialsRejected && !NOT_COUNTED.has(error.reason)) await this.failureBudget.recordFailure(bucket);
          throw error;
        }
      } finally {
        this.observer.observeVerification((performance.now() - started) / 1000, requestContext.principal ? 'success' : 'failure');
      }
    });
  }

  /**
   * The full verification of an HTTP request's token: what passport's `authenticate` with the strategy
   * did, without its per-request machinery (a strategy object created per call, its callbacks and
   * promise; ≈ 22 µs per request for ES256, issue 16). The contract for subclasses is unchanged: the
   * request comes from `getRequest`, the outcome goes through `handleRequest(error, user, info,
   * context)` exactly as passport reported it (a rejection as `info`, a store or provider failure as
   * `error`). `AccessTokenStrategy` stays registered for `AuthGuard(strategy.passportName)`.
   * `true` at once when the verification needed no I/O; otherwise a promise of it.
   */
  private authenticateRequest(context: ExecutionContext): true | Promise<true> {
    const request = this.getRequest(context);
    const credentials = bearerToken(request);
    if (credentials.refused) {
      // RFC 6750 §3.1: no bearer credentials at all (or another scheme) is "missing", not "invalid".
      const info = new AccessTokenRejection(credentials.refused, credentials.refused === 'malformed' ? 'the Authorization header is not one bearer token' : 'no bearer token');
      return this.settle(context, request, null, false, info);
    }
    let user: unknown;
    try {
      user = this.strategy.validate(request, credentials.token);
    } catch (failure) {
      return this.settleFailure(context, request, failure);
    }
    if (user instanceof Promise) {
      return user.then(
        (value: unknown) => this.settleUser(context, request, value),
        (failure: unknown) => this.settleFailure(context, request, failure),
      );
    }
    return this.settleUser(context, request, user);
  }

  private settleUser(context: ExecutionContext, request: HttpRequest, value: unknown): true | Promise<true> {
    const user = value ?? false;
    return this.settle(context, request, null, user, user ? undefined : new AccessTokenRejection('invalid_token', 'no principal'));
  }

  /** A rejection is passport's `info`; anything else (a store or provider failure) its `error`. */
  private settleFailure(context: ExecutionContext, request: HttpRequest, failure: unknown): true | Promise<true> {
    return failure instanceof AccessTokenRejection ? this.settle(context, request, null, false, failure) : this.settle(context, request, failure, false, undefined);
  }

  private settle(context: ExecutionContext, request: HttpRequest, error: unknown, user: unknown, info: unknown): true | Promise<true> {
    const handled: unknown = this.handleRequest(error, user, info, context);
    // A subclass's `handleRequest` may answer with a promise: the user is what it resolves to, as when awaited.
    if (handled instanceof Promise) {
      return handled.then((value: unknown) => {
        request.user = value;
        return true as const;
      });
    }
    request.user = handled;
    return true;
  }

  /**
   * The sender-constraint check of an accepted token. A refused proof or binding is a failed
   * authentication of the address like a bad token (issue 19: otherwise proofs could be tried without
   * limit), except `use_dpop_nonce` (RFC 9449 §8: the server asking for its nonce, the client's first
   * request after each rotation) and a store outage (a 503, not a rejection: not the client's fault).
   * `true` at once for a bearer token (nothing to wait for); a promise while a DPoP proof is checked.
   */
  private enforceBinding(context: ExecutionContext, request: HttpRequest, requestContext: RequestContext): true | Promise<true> {
    let enforced: true | Promise<true>;
    try {
      enforced = this.senderConstraint.enforce(context, request);
    } catch (error) {
      return this.bindingRefused(error, requestContext);
    }
    return enforced === true ? true : enforced.catch((error: unknown) => this.bindingRefused(error, requestContext));
  }

  private async bindingRefused(error: unknown, requestContext: RequestContext): Promise<never> {
    // The address's bucket is worked out on a failure only: a passing request never needs it.
    if (error instanceof SenderConstraintRejected && error.rejection.error !== 'use_dpop_nonce') await this.failureBudget.recordFailure(addressBucket(requestContext.clientIp));
    throw error;
  }

  /**
   * A microservice message or event: the caller proves a service identity with a fresh service token in
   * the message's headers (`ServiceTokens`), verified with the same rules as a user's token, each `jti`
   * accepted once. A user's access token is refused (it carries no service audience).
   */
  private async authenticateMessage(plan: RoutePlan, view: RequestView, requestContext: RequestContext): Promise<boolean> {
    if (this.isPublic(plan)) return true;
    const credentials = messageBearerToken(view.messageContext!);
    let reason: AuthFailureReason | 'token_replayed' = credentials.refused ?? 'invalid_token';
    if (credentials.token && this.serviceTokens) {
      try {
        this.accept(undefined, requestContext, await this.serviceTokens.verify(credentials.token));
        return true;
      } catch (error) {
        if (!(error instanceof AccessTokenRejection)) throw error;
        reason = error instanceof ServiceTokenReplayed ? 'token_replayed' : error.reason;
      }
    }
    this.audit.publish({ type: 'auth.failure', outcome: 'failure', reason, details: { transport: 'rpc', pattern: view.route } });
    throw new UnauthorizedException();
  }

  /**
   * A WebSocket message: the socket's token (its handshake's Authorization header, or the one it presented
   * since) is checked again for every message, expiry, session and deny list included.
   */
  private async authenticateSocketMessage(plan: RoutePlan, view: RequestView, requestContext: RequestContext): Promise<boolean> {
    if (this.isPublic(plan)) return true;
    const credentials = socketBearerToken(view.socket!);
    let reason: AuthFailureReason | 'dpop_bound_token_as_bearer' = credentials.refused ?? 'invalid_token';
    if (credentials.token) {
      try {
        const principal = this.verified.get(credentials.token) ?? (await this.strategy.verifier.verify(credentials.token));
        await this.strategy.verifier.assertStillValid(principal);
        // A WebSocket message carries no proof of possession: a sender-constrained token would work here
        // as a plain bearer token, so it is refused (RFC 9449 §7.2 forbids downgrading a bound token).
        if (this.senderConstraint.isBound(principal)) throw new SocketBoundToken();
        const key = this.strategy.verifier.keyBindingOf(principal);
        if (key) this.verified.set(credentials.token, principal, key);
        this.accept(undefined, requestContext, principal);
        return true;
      } catch (error) {
        if (!(error instanceof AccessTokenRejection) && !(error instanceof SocketBoundToken)) throw error;
        this.verified.delete(credentials.token);
        reason = error instanceof SocketBoundToken ? 'dpop_bound_token_as_bearer' : error.reason;
      }
    }
    this.audit.publish({ type: 'auth.failure', outcome: 'failure', reason, details: { transport: 'ws', handler: view.route } });
    throw new UnauthorizedException();
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
  private fromCache(request: HttpRequest): ZeroTrustPrincipal | undefined | Promise<ZeroTrustPrincipal | undefined> {
    const { token } = bearerToken(request);
    const principal = token ? this.verified.get(token) : undefined;
    if (!token || !principal) return undefined;
    const forget = () => {
      // Not an answer: the full path asks again and reports its own reason (or the store's failure).
      this.verified.delete(token);
      return undefined;
    };
    let pending: Promise<void> | undefined;
    try {
      pending = this.strategy.verifier.checkStillValid(principal);
    } catch {
      return forget();
    }
    return pending === undefined ? principal : pending.then(() => principal, forget);
  }

  /** The HTTP request whose Authorization header passport reads: the route's, or the one carrying a GraphQL operation. */
  override getRequest(context: ExecutionContext): HttpRequest {
    const request = requestView(context)?.httpRequest;
    if (!request) throw new UnauthorizedException();
    return request as HttpRequest;
  }

  override handleRequest<TUser = ZeroTrustPrincipal>(error: unknown, user: unknown, info: unknown, context: ExecutionContext): TUser {
    const view = requestView(context);
    const request = this.getRequest(context);
    const requestContext = view ? contextOf(view) : RequestContexts.of(request);
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

  private accept(request: HttpRequest | undefined, requestContext: RequestContext, principal: ZeroTrustPrincipal): void {
    if (request) request.user = principal;
    requestContext.principal = principal;
    if (this.audit.publishesAuthSuccess) {
      this.audit.publish({ type: 'auth.success', outcome: 'success', principal: { subject: principal.ownerId, sessionId: principal.sessionId } });
    } else {
      this.audit.count('auth.success');
    }
  }

  /** RFC 6585 §4: 429 with Retry-After; nothing of the request was verified. */
  private refuseOverBudget(view: RequestView, retryAfter: number): never {
    this.audit.publish({ type: 'rate_limit.exceeded', outcome: 'denied', reason: 'auth_failures', details: { retryAfter } });
    if (view.transport === 'http' && view.httpResponse) rawResponse(view.httpResponse).setHeader('Retry-After', String(retryAfter));
    throw new HttpException('Too many requests', HttpStatus.TOO_MANY_REQUESTS);
  }

  /** RFC 6750 §3: a 401 names the scheme, and says `invalid_token` when a token was presented; RFC 9449 §7.1: the DPoP scheme on a route that requires it. */
  protected challenge(context: ExecutionContext, missing: boolean): void {
    // Another transport answers in its own terms (a GraphQL error, a closed socket), never with this header.
    if (context.getType() !== 'http') return;
    const value = this.senderConstraint.challenge(context, context.switchToHttp().getRequest<object>(), missing) ?? (missing ? 'Bearer' : 'Bearer error="invalid_token"');
    rawResponse(context.switchToHttp().getResponse<object>()).setHeader('WWW-Authenticate', value);
  }

  /** A short hash lets an operator correlate failures of one token without the token in logs. */
  private tokenFingerprint(request: HttpRequest): Record<string, string> | undefined {
    const header = request.headers?.authorization;
    if (typeof header !== 'string' || header.length === 0) return undefined;
    return { tokenSha256: createHash('sha256').update(header).digest('hex').slice(0, 12) };
  }
}

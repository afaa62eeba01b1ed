import { type CanActivate, type ExecutionContext, ForbiddenException, HttpException, HttpStatus, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { AuthFailureBudget } from '../auth/auth-failure.budget.js';
import { AUTH_CONFIG } from '../auth/auth.internal-constants.js';
import type { AuthConfig } from '../auth/auth.options.js';
import { Clock } from '../core/clock.js';
import { RequestContexts, rawRequest, rawResponse } from '../core/request-context.js';
import { RoutePlans } from '../core/route-plan.js';
import { addressBucket } from '../http/client-ip.js';
import { StoreFailurePolicy } from '../store/store-failure.policy.js';
import { ZERO_TRUST_STORE } from '../store/store.internal-constants.js';
import type { ZeroTrustStore } from '../store/zero-trust-store.js';
import { ApiKeyRejection } from './api-key-rejection.js';
import { ApiKeyService } from './api-key.service.js';
import { CLIENTS_CONFIG } from './clients.internal-constants.js';
import type { ClientsConfig } from './clients.options.js';
import { CLIENTS_PLAN } from './clients.plan.js';

/**
 * Authenticates `@ApiKeyAuth()` routes by their API key header. Failures count against the same
 * per-address budget as bad access tokens (in the same store keys), are audited as `auth.failure` with
 * their reason, and answer the uniform 401; an address over budget gets 429 before any lookup.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  protected readonly failureBudget: AuthFailureBudget;
  private readonly header: string;

  constructor(
    protected readonly keys: ApiKeyService,
    protected readonly audit: AuditService,
    protected readonly plans: RoutePlans,
    @Inject(AUTH_CONFIG) auth: AuthConfig,
    @Inject(CLIENTS_CONFIG) config: ClientsConfig,
    @Inject(ZERO_TRUST_STORE) store: ZeroTrustStore,
    storeFailures: StoreFailurePolicy,
    clock: Clock,
  ) {
    plans.register(CLIENTS_PLAN);
    this.failureBudget = new AuthFailureBudget(auth.authFailureLimit, store, storeFailures, clock);
    this.header = config.apiKeys ? config.apiKeys.header : 'x-api-key';
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') throw new UnauthorizedException();
    const request = context.switchToHttp().getRequest<object>();
    const requestContext = RequestContexts.of(request);
    const bucket = addressBucket(requestContext.clientIp);
    const retryAfter = this.failureBudget.retryAfter(bucket);
    if (retryAfter > 0) {
      this.audit.publish({ type: 'rate_limit.exceeded', outcome: 'denied', reason: 'auth_failures', details: { retryAfter } });
      rawResponse(context.switchToHttp().getResponse<object>()).setHeader('Retry-After', String(retryAfter));
      throw new HttpException('Too many requests', HttpStatus.TOO_MANY_REQUESTS);
    }
    let principal;
    try {
      principal = await this.keys.authenticate(this.presentedKey(request));
    } catch (error) {
      if (!(error instanceof ApiKeyRejection)) throw error;
      this.audit.publish({ type: 'auth.failure', outcome: 'failure', reason: error.reason, details: error.keyId ? { apiKeyId: error.keyId } : undefined });
      await this.failureBudget.recordFailure(bucket);
      throw new UnauthorizedException();
    }
    const needed = this.plans.of(context).get(CLIENTS_PLAN).apiKeyScopes;
    const missing = needed.filter((scope) => !principal.scopes.includes(scope));
    if (missing.length > 0) {
      this.audit.publish({ type: 'access.denied', outcome: 'denied', reason: 'insufficient_scope', principal: { subject: principal.subject }, details: { missing: missing.join(' ') } });
      throw new ForbiddenException('Access denied');
    }
    (request as { user?: unknown }).user = principal;
    requestContext.principal = principal;
    this.audit.publish({ type: 'auth.success', outcome: 'success', principal: { subject: principal.subject }, details: { apiKeyId: String(principal.claims.api_key_id) } });
    return true;
  }

  /** Exactly one header field, or none: two keys in one request are refused, never one of them picked. */
  private presentedKey(request: object): string {
    const raw = rawRequest(request);
    let found: string | undefined;
    const rawHeaders = raw.rawHeaders ?? [];
    for (let i = 0; i < rawHeaders.length; i += 2) {
      if (rawHeaders[i].toLowerCase() !== this.header) continue;
      if (found !== undefined) throw new ApiKeyRejection('malformed_api_key');
      found = rawHeaders[i + 1];
    }
    if (found === undefined) throw new ApiKeyRejection('missing_api_key');
    return found;
  }
}

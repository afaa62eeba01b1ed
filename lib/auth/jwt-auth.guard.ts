import { type ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { createHash } from 'node:crypto';
import { AuditService } from '../audit/audit.service.js';
import { describeRequest, rawResponse } from '../http/request-context.js';
import type { MetricsService } from '../monitoring/metrics.service.js';
import { IS_PUBLIC_KEY } from '../zero-trust.constants.js';
import { classifyRejection } from './access-token-rejection.js';
import type { AccessTokenStrategy } from './access-token.strategy.js';
import type { ZeroTrustPrincipal } from './principal.interface.js';
import { VerifiedTokenCache } from './verified-token.cache.js';

/** The token of an `Authorization: Bearer …` header, extracted like passport-jwt does (scheme case-insensitive). */
function bearerToken(header: unknown): string | undefined {
  if (typeof header !== 'string') return undefined;
  const match = /^bearer +(\S+)$/i.exec(header);
  return match?.[1];
}

/**
 * The global deny-by-default guard: every request needs a valid access token unless its route or
 * controller is `@Public()`. Clients get one uniform 401; the reason goes to the audit trail.
 * Subclass and override the protected hooks instead of forking.
 */
@Injectable()
export class JwtAuthGuard extends AuthGuard() {
  constructor(
    protected readonly reflector: Reflector,
    protected readonly audit: AuditService,
    protected readonly strategy: AccessTokenStrategy,
    protected readonly metrics?: MetricsService,
    protected readonly verified = new VerifiedTokenCache(),
  ) {
    super({ defaultStrategy: strategy.passportName, session: false });
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.isPublic(context)) return true;
    if (context.getType() !== 'http') {
      // Only HTTP is covered so far: refuse other transports rather than let them through unchecked.
      throw new UnauthorizedException();
    }
    const started = process.hrtime.bigint();
    let outcome: 'success' | 'failure' = 'failure';
    try {
      const allowed = (await this.fromCache(context)) || ((await super.canActivate(context)) as boolean);
      outcome = 'success';
      return allowed;
    } finally {
      this.metrics?.observeVerification(Number(process.hrtime.bigint() - started) / 1e9, outcome);
    }
  }

  /**
   * A token verified before skips the signature check (passport-jwt is bypassed for it), but not the
   * expiry and session checks, which `assertStillValid` repeats. Any failure falls through to the full path.
   */
  private async fromCache(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<{ headers?: Record<string, unknown>; user?: unknown }>();
    const token = bearerToken(request.headers?.authorization);
    const principal = token ? this.verified.get(token) : undefined;
    if (!token || !principal) return false;
    try {
      await this.strategy.assertStillValid(principal);
    } catch {
      this.verified.delete(token);
      return false;
    }
    request.user = this.handleRequest(null, principal, undefined, context);
    return true;
  }

  protected isPublic(context: ExecutionContext): boolean {
    return this.reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, [context.getHandler(), context.getClass()]) === true;
  }

  override handleRequest<TUser = ZeroTrustPrincipal>(error: unknown, user: unknown, info: unknown, context: ExecutionContext): TUser {
    const request = context.switchToHttp().getRequest<object>();
    if (!error && user) {
      const principal = user as ZeroTrustPrincipal;
      const token = bearerToken((request as { headers?: Record<string, unknown> }).headers?.authorization);
      if (token) this.verified.set(token, principal);
      this.audit.publish({
        type: 'auth.success',
        outcome: 'success',
        ...describeRequest(request),
        principal: { subject: principal.subject, sessionId: principal.sessionId },
      });
      return user as TUser;
    }
    const reason = classifyRejection(error ?? info);
    this.audit.publish({
      type: 'auth.failure',
      outcome: 'failure',
      reason,
      ...describeRequest(request),
      details: this.tokenFingerprint(request),
    });
    this.challenge(context, reason === 'missing_token');
    throw new UnauthorizedException();
  }

  /** RFC 6750 §3: a 401 names the scheme, and says `invalid_token` when a token was presented. */
  protected challenge(context: ExecutionContext, missing: boolean): void {
    const value = missing ? 'Bearer' : 'Bearer error="invalid_token"';
    rawResponse(context.switchToHttp().getResponse<object>()).setHeader('WWW-Authenticate', value);
  }

  /** A short hash lets an operator correlate failures of one token without the token in logs. */
  private tokenFingerprint(request: object): Record<string, string> | undefined {
    const header = (request as { headers?: Record<string, unknown> }).headers?.authorization;
    if (typeof header !== 'string' || header.length === 0) return undefined;
    return { tokenSha256: createHash('sha256').update(header).digest('hex').slice(0, 12) };
  }
}

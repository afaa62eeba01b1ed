import { type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ThrottlerException, ThrottlerGuard, type ThrottlerModuleOptions, type ThrottlerRequest, type ThrottlerStorage } from '@nestjs/throttler';
import { AuditService } from '../audit/audit.service.js';
import type { ZeroTrustPrincipal } from '../auth/principal.interface.js';
import { addressBucket } from '../http/client-ip.js';
import { clientIpOf, describeRequest } from '../http/request-context.js';
import { AUTH_THROTTLE_KEY } from '../zero-trust.constants.js';
import type { ResolvedZeroTrustConfig } from '../zero-trust.options.js';
import { StoreFailurePolicy } from './store-failure.policy.js';
import type { ZeroTrustStore } from './zero-trust-store.js';

/** @nestjs/throttler's storage contract over our store: one round trip per hit. */
export class ZeroTrustThrottlerStorage implements ThrottlerStorage {
  constructor(private readonly store: ZeroTrustStore) {}

  increment(key: string, ttl: number, limit: number, blockDuration: number, throttlerName: string) {
    return this.store.throttle(`throttle:${throttlerName}:${key}`, ttl, limit, blockDuration);
  }
}

export function throttlerOptions(config: ResolvedZeroTrustConfig, reflector: Reflector): ThrottlerModuleOptions {
  if (config.throttle === false) return { throttlers: [] };
  const isAuthRoute = (context: ExecutionContext) =>
    reflector.getAllAndOverride<boolean>(AUTH_THROTTLE_KEY, [context.getHandler(), context.getClass()]) === true;
  return {
    errorMessage: 'Too many requests',
    throttlers: [
      { name: 'default', limit: config.throttle.default.limit, ttl: config.throttle.default.windowMs, blockDuration: config.throttle.default.blockMs },
      {
        name: 'auth',
        limit: config.throttle.auth.limit,
        ttl: config.throttle.auth.windowMs,
        blockDuration: config.throttle.auth.blockMs,
        skipIf: (context) => !isAuthRoute(context),
        // Authentication endpoints are anonymous: the bucket is the client address, never a claimed identity.
        getTracker: (request) => `ip:${addressBucket(clientIpOf(request) ?? 'unknown')}`,
      },
    ],
  };
}

/**
 * Rate limits, run after authentication so the default bucket is the verified subject (an anonymous
 * caller's is its address under the trusted-proxy setting, never a forwarding header). Keys are per
 * route handler, so `/auth/login/`, `/AUTH/LOGIN` and `/auth/login?x=1` share one bucket. A 429
 * carries Retry-After, the rate-limit headers and, like every response, the security headers.
 */
@Injectable()
export class ZeroTrustThrottlerGuard extends ThrottlerGuard {
  constructor(
    options: ThrottlerModuleOptions,
    storage: ThrottlerStorage,
    reflector: Reflector,
    private readonly audit: AuditService,
    private readonly failures: StoreFailurePolicy,
  ) {
    super(options, storage, reflector);
  }

  protected override async getTracker(request: Record<string, unknown>): Promise<string> {
    const principal = request.user as ZeroTrustPrincipal | undefined;
    return principal?.subject ? `sub:${principal.subject}` : `ip:${addressBucket(clientIpOf(request) ?? 'unknown')}`;
  }

  protected override async handleRequest(props: ThrottlerRequest): Promise<boolean> {
    const { req } = this.getRequestResponse(props.context);
    try {
      return await super.handleRequest(props);
    } catch (error) {
      if (error instanceof ThrottlerException) {
        this.audit.publish({
          type: 'rate_limit.exceeded',
          outcome: 'denied',
          reason: props.throttler.name,
          ...describeRequest(req),
          principal: (req.user as ZeroTrustPrincipal | undefined)?.subject ? { subject: (req.user as ZeroTrustPrincipal).subject } : undefined,
        });
        throw error;
      }
      this.failures.handle(error, props.throttler.name === 'auth' ? 'auth' : 'default', req);
      return true;
    }
  }
}

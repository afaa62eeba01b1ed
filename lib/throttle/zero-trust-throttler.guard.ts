import { type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ThrottlerException, ThrottlerGuard, type ThrottlerOptions, type ThrottlerRequest, type ThrottlerStorage } from '@nestjs/throttler';
import { AuditService } from '../audit/audit.service.js';
import { RequestContexts } from '../core/request-context.js';
import { PlanPart, RoutePlans } from '../core/route-plan.js';
import { addressBucket } from '../http/client-ip.js';
import { StoreFailurePolicy } from '../store/store-failure.policy.js';
import { ZERO_TRUST_STORE } from '../store/store.internal-constants.js';
import type { ZeroTrustStore } from '../store/zero-trust-store.js';
import { AUTH_THROTTLE_KEY } from './throttle.constants.js';
import { THROTTLE_CONFIG } from './throttle.internal-constants.js';
import type { ResolvedRateLimit, ThrottleConfig } from './throttle.options.js';

/** @nestjs/throttler's storage contract over our store: one round trip per hit. */
export class ZeroTrustThrottlerStorage implements ThrottlerStorage {
  constructor(private readonly store: ZeroTrustStore) {}

  increment(key: string, ttl: number, limit: number, blockDuration: number, throttlerName: string) {
    return this.store.throttle(`throttle:${throttlerName}:${key}`, ttl, limit, blockDuration);
  }
}

/**
 * @nestjs/throttler's own metadata keys (`@Throttle()`, `@SkipThrottle()`), which its package does not
 * export; the throttle e2e suite fails if they change.
 */
const THROTTLER_KEYS = { skip: 'THROTTLER:SKIP', limit: 'THROTTLER:LIMIT', ttl: 'THROTTLER:TTL', block: 'THROTTLER:BLOCK_DURATION' } as const;

interface PlannedLimit {
  readonly throttler: ThrottlerOptions & { name: string };
  readonly limit: number;
  readonly ttl: number;
  readonly blockDuration: number;
}

function asThrottler(name: 'default' | 'auth', limit: ResolvedRateLimit): ThrottlerOptions & { name: string } {
  return { name, limit: limit.limit, ttl: Math.round(limit.window * 1000), blockDuration: Math.round(limit.block * 1000) };
}

/**
 * Rate limits, run after authentication so the default bucket is the verified subject (an anonymous
 * caller's is its address under the trusted-proxy setting, never a forwarding header). Keys are per
 * route handler, so `/auth/login/`, `/AUTH/LOGIN` and `/auth/login?x=1` share one bucket. Which limits
 * apply to a route (`@AuthThrottle()`, `@Throttle()`, `@SkipThrottle()`) is planned at boot. A 429
 * carries Retry-After, the rate-limit headers and, like every response, the security headers.
 */
@Injectable()
export class ZeroTrustThrottlerGuard extends ThrottlerGuard {
  private readonly plan: PlanPart<readonly PlannedLimit[]>;

  constructor(
    @Inject(THROTTLE_CONFIG) config: ThrottleConfig,
    @Inject(ZERO_TRUST_STORE) store: ZeroTrustStore,
    reflector: Reflector,
    protected readonly audit: AuditService,
    protected readonly failures: StoreFailurePolicy,
    protected readonly plans: RoutePlans,
  ) {
    const throttlers = [
      ...(config.throttle && config.throttle.default ? [asThrottler('default', config.throttle.default)] : []),
      ...(config.throttle && config.throttle.auth ? [asThrottler('auth', config.throttle.auth)] : []),
    ];
    super({ throttlers, errorMessage: 'Too many requests' }, new ZeroTrustThrottlerStorage(store), reflector);
    this.plan = new PlanPart('throttle', (route) =>
      throttlers
        .filter((throttler) => throttler.name !== 'auth' || route.override<boolean>(AUTH_THROTTLE_KEY) === true)
        .filter((throttler) => route.override<boolean>(THROTTLER_KEYS.skip + throttler.name) !== true)
        .map((throttler) => {
          const number = (key: string, fallback: number) => {
            const value = route.override<unknown>(key + throttler.name);
            return typeof value === 'number' ? value : fallback;
          };
          const ttl = number(THROTTLER_KEYS.ttl, throttler.ttl as number);
          return { throttler, limit: number(THROTTLER_KEYS.limit, throttler.limit as number), ttl, blockDuration: number(THROTTLER_KEYS.block, (throttler.blockDuration as number) || ttl) };
        }),
    );
    plans.register(this.plan);
  }

  override async onModuleInit(): Promise<void> {
    // The limits come from the plan; of the base class's set-up only the common options are used.
    this.commonOptions = {};
  }

  override canActivate(context: ExecutionContext): Promise<boolean> {
    return RequestContexts.within(context.switchToHttp().getRequest<object>(), () => this.throttle(context));
  }

  private async throttle(context: ExecutionContext): Promise<boolean> {
    for (const planned of this.plans.of(context).get(this.plan)) {
      await this.handleRequest({
        context,
        limit: planned.limit,
        ttl: planned.ttl,
        blockDuration: planned.blockDuration,
        throttler: planned.throttler,
        getTracker: (request: Record<string, unknown>) => this.trackerFor(planned.throttler.name, request),
        generateKey: (ctx: ExecutionContext, tracker: string, name: string) => this.generateKey(ctx, tracker, name),
      });
    }
    return true;
  }

  /** The bucket: the verified subject, else the client address (an IPv6 /64 counts as one). */
  protected override async getTracker(request: Record<string, unknown>): Promise<string> {
    const context = RequestContexts.of(request);
    return context.principal ? `sub:${context.principal.subject}` : `ip:${addressBucket(context.clientIp)}`;
  }

  /** Authentication endpoints are anonymous: their bucket is the client address, never a claimed identity. */
  protected trackerFor(throttler: string, request: Record<string, unknown>): Promise<string> {
    if (throttler === 'auth') return Promise.resolve(`ip:${addressBucket(RequestContexts.of(request).clientIp)}`);
    return this.getTracker(request);
  }

  protected override async handleRequest(props: ThrottlerRequest): Promise<boolean> {
    const { req } = this.getRequestResponse(props.context);
    try {
      return await super.handleRequest(props);
    } catch (error) {
      if (error instanceof ThrottlerException) {
        const principal = RequestContexts.of(req).principal;
        this.audit.publish({
          type: 'rate_limit.exceeded',
          outcome: 'denied',
          reason: props.throttler.name,
          principal: principal ? { subject: principal.subject } : undefined,
        });
        throw error;
      }
      this.failures.handle(error, props.throttler.name === 'auth' ? 'auth' : 'default');
      return true;
    }
  }
}

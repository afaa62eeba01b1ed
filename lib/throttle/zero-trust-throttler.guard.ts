import { type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ThrottlerGuard, type ThrottlerOptions, type ThrottlerRequest, type ThrottlerStorage } from '@nestjs/throttler';
import { hash } from 'node:crypto';
import { AuditService } from '../audit/audit.service.js';
import { RequestContexts } from '../core/request-context.js';
import { PlanPart, RoutePlans } from '../core/route-plan.js';
import { contextOf, requestView } from '../core/request-view.js';
import { addressBucket } from '../http/client-ip.js';
import { StoreFailurePolicy } from '../store/store-failure.policy.js';
import { ZERO_TRUST_STORE } from '../store/store.internal-constants.js';
import type { ThrottleResult, ZeroTrustStore } from '../store/zero-trust-store.js';
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

/** A number, or a function of the request (`Resolvable<number>` of @nestjs/throttler), resolved per request. */
type Resolvable = number | ((context: ExecutionContext) => number | Promise<number>);

interface PlannedLimit {
  readonly throttler: ThrottlerOptions & { name: string };
  readonly limit: Resolvable;
  readonly ttl: Resolvable;
  /** `undefined`: the window (the rest of it, once over the limit). */
  readonly blockDuration: Resolvable | undefined;
  /** The tracker hook for this limit, made once at boot instead of a closure per request. */
  readonly getTracker: (request: Record<string, unknown>) => string | Promise<string>;
}

/** The response header names of one limit (`X-RateLimit-Limit`, or `-Limit-auth` for a named one), built once, not per response. */
interface HeaderNames {
  readonly prefix: string;
  readonly limit: string;
  readonly remaining: string;
  readonly reset: string;
}

function asThrottler(name: 'default' | 'auth', limit: ResolvedRateLimit): ThrottlerOptions & { name: string } {
  return { name, limit: limit.limit, ttl: Math.round(limit.window * 1000), blockDuration: Math.round(limit.block * 1000) };
}

/**
 * Rate limits, run after authentication so the default bucket is the verified subject (an anonymous
 * caller's is its address under the trusted-proxy setting, never a forwarding header). Keys are per
 * route handler, so `/auth/login/`, `/AUTH/LOGIN` and `/auth/login?x=1` share one bucket. Which limits
 * apply to a route (`@AuthThrottle()`, `@Throttle()`, `@SkipThrottle()`) is planned at boot; a limit given
 * as a function is called per request. Every 429 carries `Retry-After` (RFC 9110 §10.2.3; also suffixed,
 * `Retry-After-auth`, for a named limit), the `X-RateLimit-*` figures of the limit that refused it, and,
 * like every response, the security headers.
 */
@Injectable()
export class ZeroTrustThrottlerGuard extends ThrottlerGuard {
  private readonly plan: PlanPart<readonly PlannedLimit[]>;
  /** Whether `getTracker` is this class's own: then the subject's bucket is read without a promise (issue 16). */
  private readonly ownTracker: boolean;
  private readonly headerNames = new Map<string, HeaderNames>();
  /** The key hook, bound once. */
  private readonly keyOf = (context: ExecutionContext, tracker: string, name: string): string => this.generateKey(context, tracker, name);

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
    this.ownTracker = this.getTracker === ZeroTrustThrottlerGuard.prototype.getTracker;
    this.plan = new PlanPart('throttle', (route) =>
      throttlers
        .filter((throttler) => throttler.name !== 'auth' || route.override<boolean>(AUTH_THROTTLE_KEY) === true)
        .filter((throttler) => route.override<boolean>(THROTTLER_KEYS.skip + throttler.name) !== true)
        .map((throttler) => {
          const read = (key: string, fallback: Resolvable | undefined): Resolvable | undefined => {
            const value = route.override<unknown>(key + throttler.name);
            return typeof value === 'number' || typeof value === 'function' ? (value as Resolvable) : fallback;
          };
          const block = read(THROTTLER_KEYS.block, (throttler.blockDuration as number) || undefined);
          const getTracker = (request: Record<string, unknown>) => this.trackerFor(throttler.name, request);
          return { throttler, limit: read(THROTTLER_KEYS.limit, throttler.limit as number)!, ttl: read(THROTTLER_KEYS.ttl, throttler.ttl as number)!, blockDuration: block, getTracker };
        }),
    );
    plans.register(this.plan);
  }

  override async onModuleInit(): Promise<void> {
    // The limits come from the plan; of the base class's set-up only the common options are used.
    this.commonOptions = {};
  }

  override canActivate(context: ExecutionContext): Promise<boolean> {
    // HTTP, the usual case: the raw request's context (what `contextOf` answers), without a view of the call.
    if (context.getType() === 'http') return RequestContexts.enter(RequestContexts.of(context.switchToHttp().getRequest<object>()), () => this.throttle(context));
    const view = requestView(context);
    // A transport the module does not know is refused (the authentication guard refuses it first).
    if (!view) return Promise.resolve(false);
    // Each call counts: every GraphQL field resolution (100 aliases are 100 hits), every socket or RPC message.
    return RequestContexts.enter(contextOf(view), () => this.throttle(context));
  }

  /**
   * The request a limit counts (HTTP: the request; other transports: the call's key, whose context holds
   * the principal) and the response its headers go on (HTTP only: a GraphQL error or a socket carries none).
   */
  protected override getRequestResponse(context: ExecutionContext): { req: Record<string, any>; res: Record<string, any> } {
    if (context.getType() === 'http') return super.getRequestResponse(context);
    const view = requestView(context);
    if (!view || view.transport === 'http') return super.getRequestResponse(context);
    return { req: view.key as Record<string, unknown>, res: undefined as unknown as Record<string, unknown> };
  }

  protected override setResponseHeader(response: Record<string, any> | undefined, name: string, value: string | number): void {
    if (response) super.setResponseHeader(response, name, value);
  }

  private async throttle(context: ExecutionContext): Promise<boolean> {
    for (const planned of this.plans.of(context).get(this.plan)) {
      const name = planned.throttler.name;
      // A number (the usual case) is used as is: an `await` per value was a promise and a turn of the
      // microtask queue each, three per limit per request (issue 16).
      const limit = typeof planned.limit === 'number' ? check(planned.limit, context, 'limit', name, 1) : await resolve(planned.limit, context, 'limit', name, 1);
      const ttl = typeof planned.ttl === 'number' ? check(planned.ttl, context, 'ttl', name, 1) : await resolve(planned.ttl, context, 'ttl', name, 1);
      const blockDuration =
        planned.blockDuration === undefined
          ? ttl
          : typeof planned.blockDuration === 'number'
            ? check(planned.blockDuration, context, 'blockDuration', name, 0)
            : await resolve(planned.blockDuration, context, 'blockDuration', name, 0);
      await this.handleRequest({
        context,
        limit,
        ttl,
        blockDuration: blockDuration || ttl,
        throttler: planned.throttler,
        getTracker: planned.getTracker,
        generateKey: this.keyOf,
      });
    }
    return true;
  }

  /** The bucket of a request: its verified subject, else its address (see `subjectTracker`). */
  protected override async getTracker(request: Record<string, unknown>): Promise<string> {
    return subjectTracker(request);
  }

  /**
   * Authentication endpoints are anonymous: their bucket is the client address, never a claimed identity.
   * A string when the answer needs no waiting (this class's own `getTracker`), else the hook's promise.
   */
  protected trackerFor(throttler: string, request: Record<string, unknown>): string | Promise<string> {
    if (throttler === 'auth') return `ip:${addressBucket(RequestContexts.of(request).clientIp)}`;
    return this.ownTracker ? subjectTracker(request) : this.getTracker(request);
  }

  /**
   * @nestjs/throttler's key (the SHA-256 of `Class-handler-limit-tracker`, so the buckets of a running
   * Redis store carry over), hashed in one call instead of a hash object per request.
   */
  protected override generateKey(context: ExecutionContext, suffix: string, name: string): string {
    return hash('sha256', `${context.getClass().name}-${context.getHandler().name}-${name}-${suffix}`, 'hex');
  }

  private headersOf(name: string): HeaderNames {
    let names = this.headerNames.get(name);
    // `headerPrefix` is a public field of the base class a subclass may change: the names follow it.
    if (!names || names.prefix !== this.headerPrefix) {
      const suffix = name === 'default' ? '' : `-${name}`;
      const prefix = this.headerPrefix;
      names = { prefix, limit: `${prefix}-Limit${suffix}`, remaining: `${prefix}-Remaining${suffix}`, reset: `${prefix}-Reset${suffix}` };
      this.headerNames.set(name, names);
    }
    return names;
  }

  /**
   * One limit for one request: count, then either set its headers (a named limit's suffixed, so the
   * default's stay readable) or refuse. A refusal overwrites the unsuffixed headers with the figures of the
   * limit that refused, so a client reading `X-RateLimit-*` and `Retry-After` reads the binding limit.
   */
  protected override async handleRequest(props: ThrottlerRequest): Promise<boolean> {
    const { context, limit, ttl, blockDuration, throttler } = props;
    const { req, res } = this.getRequestResponse(context);
    const name = throttler.name ?? 'default';
    const found = props.getTracker(req, context);
    const tracker = typeof found === 'string' ? found : await found;
    const key = props.generateKey(context, tracker, name);
    let result: ThrottleResult;
    try {
      result = await this.storageService.increment(key, ttl, limit, blockDuration, name);
    } catch (error) {
      this.failures.handle(error, name === 'auth' ? 'auth' : 'default');
      return true;
    }
    const suffix = name === 'default' ? '' : `-${name}`;
    if (result.isBlocked) {
      // RFC 9110 §10.2.3: delay-seconds, at least 1; the block is what the client waits for.
      const retryAfter = Math.max(1, result.timeToBlockExpire);
      for (const each of new Set(['', suffix])) {
        this.setResponseHeader(res, `Retry-After${each}`, retryAfter);
        this.setResponseHeader(res, `${this.headerPrefix}-Limit${each}`, limit);
        this.setResponseHeader(res, `${this.headerPrefix}-Remaining${each}`, 0);
        this.setResponseHeader(res, `${this.headerPrefix}-Reset${each}`, retryAfter);
      }
      const principal = RequestContexts.of(req).principal;
      this.audit.publish({
        type: 'rate_limit.exceeded',
        outcome: 'denied',
        reason: name,
        principal: principal ? { subject: principal.ownerId } : undefined,
      });
      await this.throwThrottlingException(context, { limit, ttl, key, tracker, ...result });
    }
    const headers = this.headersOf(name);
    this.setResponseHeader(res, headers.limit, limit);
    this.setResponseHeader(res, headers.remaining, Math.max(0, limit - result.totalHits));
    this.setResponseHeader(res, headers.reset, result.timeToExpire);
    return true;
  }
}

/**
 * The bucket: the verified subject of its issuer (a provider's `sub` that equals a local user's id is
 * another caller, OpenID Connect Core §5.7), else the client address (an IPv6 /64 counts as one).
 */
function subjectTracker(request: Record<string, unknown>): string {
  const { principal, clientIp } = RequestContexts.of(request);
  return principal ? `sub:${principal.issuer}#${principal.subject}` : `ip:${addressBucket(clientIp)}`;
}

/**
 * A planned value for this request. A function that returns something other than a number in range
 * fails the request (500) rather than leave the route unlimited.
 */
async function resolve(value: Resolvable, context: ExecutionContext, option: string, throttler: string, min: number): Promise<number> {
  return check(typeof value === 'function' ? await value(context) : value, context, option, throttler, min);
}

function check(number: unknown, context: ExecutionContext, option: string, throttler: string, min: number): number {
  if (typeof number !== 'number' || !Number.isFinite(number) || number < min) {
    throw new Error(`@Throttle() "${option}" of the "${throttler}" limit on ${context.getClass().name}.${context.getHandler().name} resolved to ${String(number)}: return a number >= ${min}.`);
  }
  return number;
}

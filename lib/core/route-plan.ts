import { type ExecutionContext, Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';

type Target = object;

/** A route's decorators, as a plan part reads them. Each read goes through the Reflector once, at boot. */
export interface RouteMetadata {
  readonly handler: Target;
  readonly controller: Target;
  /** The handler's value, else the controller's (`@Public()` on either). */
  override<T>(key: string): T | undefined;
  /** Both lists, concatenated (controller-level and handler-level `@Scopes()` both hold). */
  merge<T>(key: string): T[];
  /** The handler's own value only. */
  own<T>(key: string): T | undefined;
  /** The controller's own value only. */
  controllerOwn<T>(key: string): T | undefined;
}

/**
 * One feature's share of every route's plan: how it reads its decorators, done once per route. Each
 * feature declares its part next to its decorators (`AUTH_PLAN`, `AUTHZ_PLAN`...); the enhancers then
 * ask `plan.get(PART)` per request, a map lookup, never the Reflector.
 */
export class PlanPart<T> {
  constructor(
    readonly name: string,
    readonly read: (metadata: RouteMetadata) => T,
  ) {}
}

/** Everything the enhancers need to know about one route, computed before its first request. */
export class RoutePlan {
  private readonly values = new Map<PlanPart<unknown>, unknown>();

  constructor(private readonly metadata: RouteMetadata) {}

  get handler(): Target {
    return this.metadata.handler;
  }

  get controller(): Target {
    return this.metadata.controller;
  }

  get<T>(part: PlanPart<T>): T {
    if (this.values.has(part)) return this.values.get(part) as T;
    const value = part.read(this.metadata);
    this.values.set(part, value);
    return value;
  }
}

/**
 * The plans of every route, keyed by controller and handler (an inherited handler serves two
 * controllers with different decorators). Plans for the app's HTTP routes are computed at boot;
 * a handler first met at run time (another transport) is planned once, then cached like the rest.
 */
@Injectable()
export class RoutePlans implements OnModuleInit {
  private readonly plans = new WeakMap<Target, WeakMap<Target, RoutePlan>>();
  private readonly parts = new Set<PlanPart<unknown>>();

  constructor(
    private readonly reflector: Reflector,
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
  ) {}

  /** Features register their parts so that boot computes them for every route. */
  register(...parts: PlanPart<unknown>[]): void {
    for (const part of parts) this.parts.add(part);
  }

  onModuleInit(): void {
    for (const { controller, handler } of this.routes()) {
      const plan = this.plan(handler, controller);
      for (const part of this.parts) plan.get(part);
    }
  }

  /** Every handler of every controller, with the controller it is served by. */
  *routes(): Generator<{ controller: Function; handler: Function; name: string }> {
    for (const wrapper of this.discovery.getControllers()) {
      const controller = wrapper.metatype as (new (...args: never[]) => object) | null;
      if (!controller?.prototype) continue;
      for (const name of this.scanner.getAllMethodNames(controller.prototype)) {
        const handler = controller.prototype[name as keyof object] as unknown;
        if (typeof handler === 'function') yield { controller, handler, name };
      }
    }
  }

  of(context: ExecutionContext): RoutePlan {
    return this.plan(context.getHandler(), context.getClass());
  }

  plan(handler: Target, controller: Target): RoutePlan {
    let byHandler = this.plans.get(controller);
    if (!byHandler) this.plans.set(controller, (byHandler = new WeakMap()));
    let plan = byHandler.get(handler);
    if (!plan) byHandler.set(handler, (plan = new RoutePlan(this.metadata(handler, controller))));
    return plan;
  }

  private metadata(handler: Target, controller: Target): RouteMetadata {
    const reflector = this.reflector;
    const targets = [handler, controller] as Array<Function>;
    return {
      handler,
      controller,
      override: <T>(key: string) => reflector.getAllAndOverride<T>(key, targets),
      merge: <T>(key: string) => reflector.getAllAndMerge<T[]>(key, targets) ?? [],
      own: <T>(key: string) => reflector.get<T>(key, handler as Function),
      controllerOwn: <T>(key: string) => reflector.get<T>(key, controller as Function),
    };
  }
}

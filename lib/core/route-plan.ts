import { type ExecutionContext, Injectable, type OnModuleInit, RequestMethod } from '@nestjs/common';
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
    // One lookup on the hot path: `has` only when the part's value is `undefined` (or not read yet).
    const known = this.values.get(part);
    if (known !== undefined || this.values.has(part)) return known as T;
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
  /**
   * The plan asked for last: every enhancer of a request asks for the same one (five to seven times per
   * request), so this answers without the two WeakMap lookups. A plan never changes once made.
   */
  private last: { handler: Target; controller: Target; plan: RoutePlan } | undefined;

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

  /**
   * Every method of every controller, and every handler of a provider that another transport serves
   * (GraphQL resolvers, WebSocket gateways), with the class it is served by.
   */
  *routes(): Generator<{ controller: Function; handler: Function; name: string }> {
    const seen = new Set<Function>();
    const classes = [
      ...this.discovery.getControllers().map((wrapper) => ({ type: wrapper.metatype, provider: false })),
      ...this.discovery.getProviders().map((wrapper) => ({ type: wrapper.metatype, provider: true })),
    ];
    for (const { type, provider } of classes) {
      const controller = type as (new (...args: never[]) => object) | null | undefined;
      if (typeof controller !== 'function' || !controller.prototype || seen.has(controller)) continue;
      seen.add(controller);
      for (const name of this.scanner.getAllMethodNames(controller.prototype)) {
        const handler = controller.prototype[name as keyof object] as unknown;
        if (typeof handler !== 'function') continue;
        if (provider && handlerEntry(controller, handler) === undefined) continue;
        yield { controller, handler, name };
      }
    }
  }

  /** Every handler a client can reach, on any transport, with how the boot check names it. */
  *handlers(): Generator<{ controller: Function; handler: Function; name: string; entry: HandlerEntry }> {
    for (const route of this.routes()) {
      const entry = handlerEntry(route.controller, route.handler);
      if (entry) yield { ...route, entry };
    }
  }

  of(context: ExecutionContext): RoutePlan {
    return this.plan(context.getHandler(), context.getClass());
  }

  plan(handler: Target, controller: Target): RoutePlan {
    const last = this.last;
    if (last !== undefined && last.handler === handler && last.controller === controller) return last.plan;
    let byHandler = this.plans.get(controller);
    if (!byHandler) this.plans.set(controller, (byHandler = new WeakMap()));
    let plan = byHandler.get(handler);
    if (!plan) byHandler.set(handler, (plan = new RoutePlan(this.metadata(handler, controller))));
    this.last = { handler, controller, plan };
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

/**
 * The metadata keys other Nest transports write on handlers. Read by name: the core must load in an app
 * that has none of @nestjs/graphql, @nestjs/websockets or @nestjs/microservices installed.
 */
const TRANSPORT_KEYS = {
  httpPath: 'path',
  httpMethod: 'method',
  resolverType: 'graphql:resolver_type',
  resolverName: 'graphql:resolver_name',
  resolveField: 'graphql:resolve_property',
  resolveReference: 'graphql:resolve_reference',
  message: 'message',
  messageMapping: 'websockets:message_mapping',
  pattern: 'microservices:pattern',
  patternHandler: 'microservices:handler_type',
} as const;

/** How a handler is reached: by which transport, and the name the boot check lists it under. */
export interface HandlerEntry {
  readonly transport: 'http' | 'graphql' | 'ws' | 'rpc';
  /** `GET /notes/:id`, `Query note`, `ResolveField Note.body`, `ws message "notes:watch"`, `rpc message {"cmd":"index"}`. */
  readonly label: string;
  /** GraphQL: a field resolver (`@ResolveField`), which runs the enhancers only when the GraphQL module says so. */
  readonly resolveField?: boolean;
}

const meta = (key: string, target: object): unknown => Reflect.getMetadata(key, target);
const joinPath = (...parts: unknown[]) => `/${parts.flatMap((part) => String(part ?? '').split('/')).filter(Boolean).join('/')}`;

/** The entry a handler of `type` is served under, or `undefined` for a method no transport routes to. */
export function handlerEntry(type: Function, handler: Function): HandlerEntry | undefined {
  const path = meta(TRANSPORT_KEYS.httpPath, handler);
  if (path !== undefined) {
    const method = RequestMethod[meta(TRANSPORT_KEYS.httpMethod, handler) as number] ?? 'ALL';
    return { transport: 'http', label: `${method} ${joinPath([meta(TRANSPORT_KEYS.httpPath, type)].flat()[0], [path].flat()[0])}` };
  }
  const resolverType = meta(TRANSPORT_KEYS.resolverType, handler);
  if (typeof resolverType === 'string') {
    return { transport: 'graphql', label: `${resolverType} ${String(meta(TRANSPORT_KEYS.resolverName, handler) ?? handler.name)}` };
  }
  if (meta(TRANSPORT_KEYS.resolveField, handler) === true || meta(TRANSPORT_KEYS.resolveReference, handler) === true) {
    const parent = meta(TRANSPORT_KEYS.resolverName, type);
    const field = String(meta(TRANSPORT_KEYS.resolverName, handler) ?? handler.name);
    return { transport: 'graphql', label: `ResolveField ${typeof parent === 'string' ? `${parent}.` : ''}${field}`, resolveField: true };
  }
  if (meta(TRANSPORT_KEYS.messageMapping, handler) === true) {
    return { transport: 'ws', label: `ws message ${JSON.stringify(meta(TRANSPORT_KEYS.message, handler))}` };
  }
  const patterns = meta(TRANSPORT_KEYS.pattern, handler);
  if (patterns !== undefined) {
    const kind = meta(TRANSPORT_KEYS.patternHandler, handler) === 2 ? 'event' : 'message';
    return { transport: 'rpc', label: `rpc ${kind} ${[patterns].flat().map((pattern) => (typeof pattern === 'string' ? pattern : JSON.stringify(pattern))).join(', ')}` };
  }
  return undefined;
}

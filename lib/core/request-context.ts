import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ZeroTrustPrincipal } from './principal.interface.js';

/**
 * Everything the module knows about the request being served, created once by the first middleware
 * and reachable from anywhere below it: services never need a `request` parameter.
 *
 * Node's AsyncLocalStorage directly rather than nestjs-cls: the module needs one slot it fills itself,
 * on every adapter and transport, without a second global middleware or module whose registration
 * order users could change. Guards run before the body is parsed on Fastify, where the store is not
 * carried across the parser's stream events, so the same object is also kept on the raw request,
 * under a symbol this file does not export (nothing a client sends can name it: headers, query and
 * body become string keys), and re-entered by the first interceptor. A WeakMap entry per request was
 * an ephemeron the GC had to trace (issue 16: 9-13 % of a warm guard call with the request id).
 */
export interface RequestContext {
  /** Generated here, never taken from the client (an incoming X-Request-Id would forge audit correlation). */
  readonly requestId: string;
  /** The client address under the `trustProxy` setting. */
  clientIp: string;
  method?: string;
  /** The route pattern (never the raw URL, which may carry ids and tokens). */
  route?: string;
  /** The verified caller, once authentication has passed. */
  principal?: ZeroTrustPrincipal;
  /** Per-feature state (the row-level-security transaction, the record `@OwnsResource` loaded...). */
  readonly slots: Map<symbol, unknown>;
}

const storage = new AsyncLocalStorage<RequestContext>();
/** Where an HTTP request's context lives on the raw request. */
const CONTEXT = Symbol('zero-trust:request-context');
/** The contexts of other transports' calls, keyed by objects that may be the client's own data (a WebSocket payload): never written to. */
const byKey = new WeakMap<object, RequestContext>();

type Carrier = { [CONTEXT]?: RequestContext };

/** Node's request or an adapter's stand-in for one (Fastify's `inject()`): a method, headers, and room for the symbol. */
function isHttpRequest(raw: object): boolean {
  const candidate = raw as { method?: unknown; headers?: unknown };
  return typeof candidate.method === 'string' && typeof candidate.headers === 'object' && candidate.headers !== null && Object.isExtensible(raw);
}

/**
 * A context whose request id is drawn when first read (most requests are never audited nor logged: a
 * `randomUUID()` each was a measurable share of the guard's path).
 */
class LazyRequestContext implements RequestContext {
  private id: string | undefined;
  route?: string;
  principal?: ZeroTrustPrincipal;
  readonly slots = new Map<symbol, unknown>();

  constructor(
    public clientIp: string,
    public method: string | undefined,
    requestId?: string,
    route?: string,
  ) {
    this.id = requestId;
    if (route !== undefined) this.route = route;
  }

  get requestId(): string {
    return (this.id ??= randomUUID());
  }
}

/** Express hands Nest the Node.js objects; Fastify wraps them and keeps them in `.raw`. */
export function rawRequest(request: object): IncomingMessage {
  return ((request as { raw?: IncomingMessage }).raw ?? request) as IncomingMessage;
}

export function rawResponse(response: object): ServerResponse {
  return ((response as { raw?: ServerResponse }).raw ?? response) as ServerResponse;
}

export const RequestContexts = {
  /** Creates the context of a raw request (once: a second call returns the first). */
  create(request: object, clientIp: string): RequestContext {
    const raw = rawRequest(request) as IncomingMessage & Carrier;
    const known = raw[CONTEXT] ?? byKey.get(raw);
    if (known) return known;
    const context = new LazyRequestContext(clientIp, raw.method);
    // Enhancers also call this with another transport's arguments (`switchToHttp().getRequest()` of an
    // RPC call is the message's payload, possibly frozen): only an HTTP request carries the symbol.
    if (isHttpRequest(raw)) raw[CONTEXT] = context;
    else byKey.set(raw, context);
    return context;
  },

  /** The context of a request object (either adapter's), creating a minimal one if no middleware ran. */
  of(request: object): RequestContext {
    const raw = rawRequest(request) as IncomingMessage & Carrier;
    return raw[CONTEXT] ?? byKey.get(raw) ?? RequestContexts.create(raw, raw.socket?.remoteAddress ?? 'unknown');
  },

  /** The context already kept for `key` (a raw request, or another transport's per-call key), if any. */
  lookup(key: object): RequestContext | undefined {
    const raw = rawRequest(key) as Carrier;
    return raw[CONTEXT] ?? byKey.get(raw);
  },

  /**
   * Creates the context of a call of another transport (a GraphQL field resolution, a WebSocket message,
   * an RPC message), kept for `key`; `requestId` ties it to the HTTP request that carried it, if any.
   */
  derive(key: object, init: { requestId?: string; clientIp: string; method?: string; route?: string }): RequestContext {
    let context = byKey.get(key);
    if (!context) {
      context = new LazyRequestContext(init.clientIp, init.method, init.requestId, init.route);
      byKey.set(key, context);
    }
    return context;
  },

  /** The context of the code running now, if it runs for a request. */
  current(): RequestContext | undefined {
    return storage.getStore();
  },

  /** Runs `work` with `context` as the current one. */
  run<T>(context: RequestContext, work: () => T): T {
    return storage.run(context, work);
  },

  /**
   * Runs `work` inside the context of `request`. Guards use it: on Fastify they run after the body
   * parser, whose stream events do not carry the store the middleware set.
   */
  within<T>(request: object, work: (context: RequestContext) => T): T {
    return RequestContexts.enter(RequestContexts.of(request), work);
  },

  /** Runs `work` with `context` as the current one, unless it already is. */
  enter<T>(context: RequestContext, work: (context: RequestContext) => T): T {
    return storage.getStore() === context ? work(context) : storage.run(context, () => work(context));
  },
};

/** A typed per-request slot owned by one feature. */
export class ContextSlot<T> {
  private readonly key: symbol;

  constructor(name: string) {
    this.key = Symbol(name);
  }

  get(context: RequestContext | undefined = RequestContexts.current()): T | undefined {
    return context?.slots.get(this.key) as T | undefined;
  }

  set(context: RequestContext, value: T | undefined): void {
    if (value === undefined) context.slots.delete(this.key);
    else context.slots.set(this.key, value);
  }
}

/** Where a request came from and went, for audit events. */
export function describeContext(context: RequestContext | undefined): { requestId?: string; ip?: string; method?: string; route?: string } {
  if (!context) return {};
  return { requestId: context.requestId, ip: context.clientIp, method: context.method, route: context.route };
}

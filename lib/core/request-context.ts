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
 * carried across the parser's stream events, so the same object is also kept per raw request (a
 * WeakMap, never a property on the request) and re-entered by the first interceptor.
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
const byRequest = new WeakMap<object, RequestContext>();

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
    const raw = rawRequest(request);
    let context = byRequest.get(raw);
    if (!context) {
      context = { requestId: randomUUID(), clientIp, method: raw.method, slots: new Map() };
      byRequest.set(raw, context);
    }
    return context;
  },

  /** The context of a request object (either adapter's), creating a minimal one if no middleware ran. */
  of(request: object): RequestContext {
    return byRequest.get(rawRequest(request)) ?? RequestContexts.create(request, rawRequest(request).socket?.remoteAddress ?? 'unknown');
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
    const context = RequestContexts.of(request);
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

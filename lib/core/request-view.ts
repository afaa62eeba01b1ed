import type { ExecutionContext } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { RequestContexts, rawRequest, type RequestContext } from './request-context.js';

/** The transports the module enforces its policy on. Any other execution context is refused. */
export type Transport = 'http' | 'graphql' | 'ws' | 'rpc';

/**
 * One call of a handler, whatever carried it: the object its request context is keyed by, the HTTP
 * request behind it (if any), and the values an ownership rule reads a record id from. Built from the
 * execution context's arguments alone, so the core never imports @nestjs/graphql, @nestjs/websockets or
 * @nestjs/microservices (optional peers an app may not have installed).
 */
export interface RequestView {
  readonly transport: Transport;
  /**
   * What this call's request context is keyed by. HTTP: the raw request. GraphQL: the resolver's `info`,
   * a new object for every field resolution, so 100 aliased `note(id:)` fields are 100 calls, each
   * authenticated, throttled and authorized on its own (never one check shared by a batch). WebSocket:
   * the message, RPC: the message's context (one per message).
   */
  readonly key: object;
  /** The HTTP request that carries the call (HTTP, GraphQL over HTTP), whose headers hold the bearer token. */
  readonly httpRequest?: object;
  /** The HTTP response of that request, when the transport exposes it. */
  readonly httpResponse?: object;
  /** WebSocket: the client (socket) the message came on. */
  readonly socket?: object;
  /** RPC: the transport's message context (`NatsContext`, `RedisContext`...). */
  readonly messageContext?: object;
  /** Route parameters (HTTP), the resolver's arguments (GraphQL), the payload (WebSocket, RPC). */
  readonly params: Readonly<Record<string, unknown>>;
  /** A label for audit events: the route pattern, `Query.note`, or the message pattern. */
  readonly route?: string;
}

type GraphqlInfo = { parentType?: { name?: string }; fieldName?: string; path?: unknown };
type GraphqlContext = { req?: object; request?: object; reply?: { request?: object; raw?: object }; res?: object };

const asRecord = (value: unknown): Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};

/** Per-message keys for WebSocket payloads that are not objects (a string, a number): the call's arguments array. */
const isObject = (value: unknown): value is object => value !== null && (typeof value === 'object' || typeof value === 'function');

/**
 * The request behind an execution context, or `undefined` for a context type the module does not know
 * (the guards refuse those: deny-by-default holds for transports added later).
 */
export function requestView(context: ExecutionContext): RequestView | undefined {
  const type = context.getType<string>();
  const args = context.getArgs<unknown[]>();
  if (type === 'http') {
    const request = context.switchToHttp().getRequest<{ params?: Record<string, unknown>; route?: { path?: string }; routeOptions?: { url?: string } }>();
    return {
      transport: 'http',
      key: rawRequest(request),
      httpRequest: request,
      httpResponse: context.switchToHttp().getResponse<object>(),
      params: asRecord(request.params),
      route: request.route?.path ?? request.routeOptions?.url,
    };
  }
  if (type === 'graphql') {
    // Resolver arguments: (root, args, context, info). Apollo's context has `req` (Express or Fastify's
    // request); Mercurius's has `reply` (and `req` when Nest's driver adds it).
    const [, resolverArgs, gqlContext, info] = args as [unknown, unknown, GraphqlContext | undefined, GraphqlInfo | undefined];
    if (!isObject(info)) return undefined;
    const httpRequest = gqlContext?.req ?? gqlContext?.reply?.request ?? gqlContext?.request;
    const httpResponse = gqlContext?.reply ?? gqlContext?.res ?? (httpRequest as { res?: object } | undefined)?.res;
    return {
      transport: 'graphql',
      key: info,
      httpRequest: isObject(httpRequest) ? httpRequest : undefined,
      httpResponse: isObject(httpResponse) ? httpResponse : undefined,
      params: asRecord(resolverArgs),
      route: `${info.parentType?.name ?? 'GraphQL'}.${info.fieldName ?? '?'}`,
    };
  }
  if (type === 'ws') {
    const [socket, data] = args;
    if (!isObject(socket)) return undefined;
    return { transport: 'ws', key: isObject(data) ? data : args, socket, params: asRecord(data), route: context.getHandler().name };
  }
  if (type === 'rpc') {
    const [data, messageContext] = args;
    if (!isObject(messageContext)) return undefined;
    return { transport: 'rpc', key: messageContext, messageContext, params: asRecord(data), route: context.getHandler().name };
  }
  return undefined;
}

/** Where a WebSocket client came from: socket.io keeps its handshake request, `ws` its TCP socket. */
function socketAddress(socket: object): string {
  const io = socket as { request?: IncomingMessage; handshake?: { address?: string } };
  const ws = socket as { _socket?: { remoteAddress?: string } };
  return io.handshake?.address ?? io.request?.socket?.remoteAddress ?? ws._socket?.remoteAddress ?? 'unknown';
}

/**
 * The request context of one call. HTTP: the request's own (created by the middleware). GraphQL: a
 * context per field resolution that shares the HTTP request's id and client address, so the principal
 * and the record `@OwnsResource` loaded belong to that field alone (aliases resolve concurrently; a
 * shared slot would hand one alias the record another alias loaded).
 */
export function contextOf(view: RequestView): RequestContext {
  if (view.transport === 'http') return RequestContexts.of(view.key);
  const existing = RequestContexts.lookup(view.key);
  if (existing) return existing;
  const parent = view.httpRequest ? RequestContexts.of(view.httpRequest) : undefined;
  const clientIp = parent?.clientIp ?? (view.socket ? socketAddress(view.socket) : 'internal');
  return RequestContexts.derive(view.key, { requestId: parent?.requestId, clientIp, method: view.transport.toUpperCase(), route: view.route });
}

/** The request context of the call an execution context describes (`undefined` for an unknown transport). */
export function contextOfExecution(context: ExecutionContext): RequestContext | undefined {
  const view = requestView(context);
  if (!view) return undefined;
  // A WebSocket payload that is not an object keys its context by the call's arguments array, which a
  // parameter decorator receives as a copy: it then reads the context the first interceptor entered.
  if (view.transport === 'ws' && !RequestContexts.lookup(view.key)) return RequestContexts.current() ?? contextOf(view);
  return contextOf(view);
}

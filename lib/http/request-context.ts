import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { REQUEST_STATE } from '../zero-trust.internal-constants.js';

interface RequestState {
  requestId: string;
  clientIp?: string;
}

type RawRequest = IncomingMessage & { [REQUEST_STATE]?: RequestState };

/** Express hands Nest the Node.js objects; Fastify wraps them and keeps them in `.raw`. */
export function rawRequest(request: object): RawRequest {
  return ((request as { raw?: IncomingMessage }).raw ?? request) as RawRequest;
}

export function rawResponse(response: object): ServerResponse {
  return ((response as { raw?: ServerResponse }).raw ?? response) as ServerResponse;
}

/**
 * The request id is always generated here, never taken from the client: an incoming
 * `X-Request-Id` is attacker-controlled and would let a client forge correlation in audit logs.
 */
export function assignRequestId(request: object): string {
  const raw = rawRequest(request);
  raw[REQUEST_STATE] ??= { requestId: randomUUID() };
  return raw[REQUEST_STATE].requestId;
}

/** Stores the client address resolved once per request under the trusted-proxy setting. */
export function assignClientIp(request: object, clientIp: string): void {
  const raw = rawRequest(request);
  assignRequestId(raw);
  raw[REQUEST_STATE]!.clientIp = clientIp;
}

export function clientIpOf(request: object): string | undefined {
  const raw = rawRequest(request);
  return raw[REQUEST_STATE]?.clientIp ?? raw.socket?.remoteAddress;
}

export function requestIdOf(request: object): string | undefined {
  return rawRequest(request)[REQUEST_STATE]?.requestId;
}

/** Where a request came from and went, for audit events: the route pattern, never the raw URL. */
export function describeRequest(request: object): { requestId?: string; ip?: string; method?: string; route?: string } {
  const req = request as {
    method?: string;
    route?: { path?: string };
    routeOptions?: { url?: string };
    socket?: { remoteAddress?: string };
  };
  const raw = rawRequest(request);
  return {
    requestId: requestIdOf(request),
    ip: clientIpOf(request),
    method: req.method ?? raw.method,
    route: req.route?.path ?? req.routeOptions?.url,
  };
}

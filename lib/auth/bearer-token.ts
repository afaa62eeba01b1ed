import type { IncomingMessage } from 'node:http';
import { rawRequest } from '../core/request-context.js';

/** What the Authorization header of a request holds for this module: a bearer token, or why there is none. */
export type BearerCredentials = { readonly token: string; readonly refused?: undefined } | { readonly token?: undefined; readonly refused: 'missing_token' | 'malformed' };

/**
 * RFC 6750 §2.1: `credentials = "Bearer" 1*SP b64token` with
 * `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`: one token and nothing
 * after it. `Bearer <token> <junk>` is not a token followed by noise to skip but a header this parser
 * does not understand, so it is refused rather than read the way some other parser might not.
 */
// RFC 9449 §7.1: `DPoP <token>` has the same token syntax; SenderConstraintCheck decides what each scheme may carry.
const BEARER = /^(?:bearer|dpop) +([A-Za-z0-9\-._~+/]+=*)$/i;
const BEARER_SCHEME = /^(?:bearer|dpop)(?:[ \t]|$)/i;

const MISSING: BearerCredentials = Object.freeze({ refused: 'missing_token' });
const MALFORMED: BearerCredentials = Object.freeze({ refused: 'malformed' });

/**
 * The bearer token of a request (Express's or Fastify's, or the raw Node request). Only the header:
 * tokens in query strings end up in logs and Referer headers. The one place that parses the header.
 *
 * No Authorization header, or another scheme, is "missing" (RFC 6750 §3.1: no error code). A Bearer
 * header that is not exactly one b64token is "malformed", and so is a request with two Authorization
 * fields (RFC 9110 §5.3: a field that is not a list may not be repeated; Node keeps the first, a proxy
 * in front may have checked the other).
 */
export function bearerToken(request: object): BearerCredentials {
  const raw = rawRequest(request) as IncomingMessage & { [PARSED]?: Parsed };
  const header = (raw.headers ?? (request as { headers?: Record<string, unknown> }).headers)?.authorization;
  if (typeof header !== 'string') return MISSING;
  // The guards, the sender-constraint check and each GraphQL field of the request ask again: parsed once
  // per header value (issue 16: three regular-expression passes and a walk of every raw header per
  // request). Keyed by the value itself, so a header changed since is parsed afresh.
  const parsed = raw[PARSED];
  if (parsed !== undefined && parsed.header === header) return parsed.credentials;
  const credentials = parseHeader(header, raw.rawHeaders);
  // A request object made for a subscription may be frozen: it is then parsed each time.
  if (Object.isExtensible(raw)) raw[PARSED] = { header, credentials };
  return credentials;
}

/** The parse of a request's Authorization header, kept on the request under a symbol only this file holds. */
const PARSED = Symbol('zero-trust:bearer');
interface Parsed {
  readonly header: string;
  readonly credentials: BearerCredentials;
}

function parseHeader(header: string, rawHeaders: readonly string[] | undefined): BearerCredentials {
  if (authorizationFields(rawHeaders) > 1) return MALFORMED;
  if (!BEARER_SCHEME.test(header)) return MISSING;
  const match = BEARER.exec(header);
  return match ? Object.freeze({ token: match[1] }) : MALFORMED;
}

function authorizationFields(rawHeaders: readonly string[] | undefined): number {
  if (!rawHeaders) return 1;
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i].length === 13 && rawHeaders[i].toLowerCase() === 'authorization') count++;
  }
  return count;
}

/** Parses one `Bearer <token>` value the same way as the header of an HTTP request. */
function parseBearer(value: unknown): BearerCredentials {
  if (typeof value !== 'string') return MISSING;
  if (!BEARER_SCHEME.test(value)) return MISSING;
  const match = BEARER.exec(value);
  return match ? { token: match[1] } : MALFORMED;
}

/** Tokens a WebSocket client presented on its open socket (re-authentication), by socket. */
const socketTokens = new WeakMap<object, string>();

/** Records the token a client presented on its socket; later messages are authenticated with it. */
export function presentSocketToken(socket: object, token: string): void {
  socketTokens.set(socket, token);
}

/**
 * The bearer token of a WebSocket client: the one it presented on the socket last, else the
 * Authorization header of its handshake (socket.io keeps the handshake; for the `ws` adapter the module's
 * upgrade gate records it). Never a query-string parameter: URLs end up in logs.
 */
export function socketBearerToken(socket: object): BearerCredentials {
  const presented = socketTokens.get(socket);
  if (presented) return { token: presented };
  const io = socket as { handshake?: { headers?: Record<string, unknown> }; request?: { headers?: Record<string, unknown> } };
  return parseBearer(io.handshake?.headers?.authorization ?? io.request?.headers?.authorization);
}

/**
 * The bearer token in a microservice message's headers: NATS headers (`MsgHdrs.get`), or a plain header
 * object (the transport's `getHeaders()`), under `authorization`.
 */
export function messageBearerToken(messageContext: object): BearerCredentials {
  const getHeaders = (messageContext as { getHeaders?: () => unknown }).getHeaders;
  const headers = typeof getHeaders === 'function' ? getHeaders.call(messageContext) : undefined;
  if (!headers || typeof headers !== 'object') return MISSING;
  const get = (headers as { get?: (name: string) => unknown }).get;
  const value = typeof get === 'function' ? get.call(headers, 'authorization') : (headers as Record<string, unknown>).authorization;
  return parseBearer(value === '' ? undefined : value);
}

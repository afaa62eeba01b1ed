import { Logger } from '@nestjs/common';
import type { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RequestContexts } from '../core/request-context.js';
import { REQUEST_ID_HEADER } from './http.constants.js';
import type { HttpConfig } from './http.options.js';
import { applyHeaders, markHeadersWritten } from './security-headers.js';

type RequestListener = (this: unknown, request: IncomingMessage, response: ServerResponse) => void;

const MALFORMED_URL_BODY = JSON.stringify({ statusCode: 400, message: 'Malformed URL', error: 'Bad Request' });

/**
 * Whether the path of a request target cannot be percent-decoded (`/notes/%zz`, `/%E0%A4%A`). The query
 * is left to the parsers, which tolerate bad escapes. `decodeURI` and `decodeURIComponent` fail on
 * exactly the same inputs (they differ only in what they decode), so this matches the routers.
 */
export function hasUndecodablePath(url: string | undefined): boolean {
  // Absolute-form (`GET http://…`) and `OPTIONS *` targets are the framework's to judge.
  if (!url || url.charCodeAt(0) !== 47) return false;
  const end = url.search(/[?#]/);
  const path = end === -1 ? url : url.slice(0, end);
  if (!path.includes('%')) return false;
  try {
    decodeURIComponent(path);
    return false;
  } catch {
    return true;
  }
}

/**
 * The first code of the app that sees a request: a listener put in front of the adapter's own on the
 * Node.js server. Fastify's router answers some requests itself before any hook, middleware or filter
 * runs (a path it cannot decode: 400, a route parameter over `maxParamLength`: 414) with a raw
 * `writeHead`. Headers set here, on the Node.js response, are merged into whatever is written later,
 * so those answers carry the security headers and the request id too; a path no router can decode is
 * answered here, in the module's error shape, on both adapters.
 *
 * What Node's HTTP parser refuses (an oversize header block: 431, a malformed request: 400, a timeout:
 * 408) never becomes a request event: Node (or Fastify's `clientError` handler) answers it with a
 * status line and no page to render, before any code of the app runs.
 */
export class ServerRequestGate {
  private static readonly gated = new WeakSet<object>();
  private readonly logger = new Logger('ZeroTrustModule');

  constructor(private readonly config: HttpConfig) {}

  /** Puts the gate in front of the server's `request` listeners (once per server). */
  install(server: EventEmitter | undefined): void {
    if (!server || typeof server.listeners !== 'function' || ServerRequestGate.gated.has(server)) return;
    const listeners = server.listeners('request') as RequestListener[];
    if (listeners.length === 0) return;
    ServerRequestGate.gated.add(server);
    server.removeAllListeners('request');
    const gate = this;
    server.on('request', function (this: unknown, request: IncomingMessage, response: ServerResponse) {
      if (!gate.admit(request, response)) return;
      for (const listener of listeners) listener.call(this, request, response);
    });
  }

  /** Writes the headers; answers a malformed URL itself. Returns whether the framework gets the request. */
  admit(request: IncomingMessage, response: ServerResponse): boolean {
    try {
      const context = RequestContexts.create(request, this.config.clientIp.resolve(request));
      response.setHeader(REQUEST_ID_HEADER, context.requestId);
      applyHeaders(response, this.config.headers);
      markHeadersWritten(response);
    } catch (error) {
      // A throw here would escape the server's event emitter and end the process; the middleware writes
      // the headers again for every request the framework routes.
      this.logger.error('could not write the security headers before routing', error instanceof Error ? error.stack : String(error));
      return true;
    }
    if (!hasUndecodablePath(request.url)) return true;
    response.statusCode = 400;
    response.setHeader('Content-Type', 'application/json; charset=utf-8');
    response.setHeader('Content-Length', Buffer.byteLength(MALFORMED_URL_BODY));
    response.end(MALFORMED_URL_BODY);
    return false;
  }
}

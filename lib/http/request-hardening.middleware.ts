import { Inject, Injectable, type NestMiddleware, type OnApplicationBootstrap, PayloadTooLargeException, UnsupportedMediaTypeException } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RequestContexts, rawRequest, rawResponse } from '../core/request-context.js';
import { REQUEST_ID_HEADER } from './http.constants.js';
import { HTTP_CONFIG } from './http.internal-constants.js';
import type { HttpConfig } from './http.options.js';
import { applyHeaders, headersWritten, removeHeaders } from './security-headers.js';
import { ServerRequestGate } from './server-request.gate.js';

/**
 * Runs first for every request, matched route or not, before guards: creates the request context
 * (id, client address), writes the security headers (so 401/403/404 carry them too), and refuses
 * bodies the API never accepts. At boot it also puts a `ServerRequestGate` in front of the adapter on
 * the Node.js server, so that answers the framework writes before any middleware (Fastify's router)
 * carry the same headers.
 */
@Injectable()
export class RequestHardeningMiddleware implements NestMiddleware, OnApplicationBootstrap {
  constructor(
    @Inject(HTTP_CONFIG) private readonly config: HttpConfig,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  onApplicationBootstrap(): void {
    // No HTTP adapter in a microservice or an application context: nothing to gate.
    const server = this.adapterHost.httpAdapter?.getHttpServer() as EventEmitter | undefined;
    new ServerRequestGate(this.config).install(server);
  }

  use(request: IncomingMessage, response: ServerResponse, next: (error?: unknown) => void): void {
    const raw = rawRequest(request);
    // The server gate made the context and wrote the headers of most requests already.
    const context = RequestContexts.lookup(raw) ?? RequestContexts.create(raw, this.config.clientIp.resolve(raw));
    const res = rawResponse(response);
    if (headersWritten(res)) {
      removeHeaders(res, this.config.headers);
    } else {
      res.setHeader(REQUEST_ID_HEADER, context.requestId);
      applyHeaders(res, this.config.headers);
    }
    this.checkBody(raw);
    // `next` itself as the work (it takes no argument here): no closure per request.
    RequestContexts.run(context, next as () => void);
  }

  private checkBody(request: IncomingMessage): void {
    const declaredLength = request.headers['content-length'];
    const hasBody = (declaredLength !== undefined && declaredLength !== '0') || request.headers['transfer-encoding'] !== undefined;
    if (!hasBody) return;
    if (declaredLength !== undefined && Number(declaredLength) > this.config.bodyLimit) {
      throw new PayloadTooLargeException(`Request body is larger than ${this.config.bodyLimit} bytes.`);
    }
    // Refusing other media types also stops HTML forms (text/plain, multipart) from reaching the API cross-site.
    const mediaType = (request.headers['content-type'] ?? '').split(';', 1)[0].trim().toLowerCase();
    if (!this.config.allowedContentTypes.has(mediaType)) {
      throw new UnsupportedMediaTypeException(`Content-Type must be ${[...this.config.allowedContentTypes].join(' or ')}.`);
    }
  }
}

import {
  Inject,
  Injectable,
  type NestMiddleware,
  PayloadTooLargeException,
  UnsupportedMediaTypeException,
} from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { REQUEST_ID_HEADER } from '../zero-trust.constants.js';
import { ZERO_TRUST_CONFIG } from '../zero-trust.internal-constants.js';
import type { ResolvedZeroTrustConfig } from '../zero-trust.options.js';
import { assignClientIp, assignRequestId, rawResponse } from './request-context.js';
import { applyHeaders } from './security-headers.js';

/**
 * Runs first for every request, matched route or not, before guards: gives it an id, writes the
 * security headers (so 401/403/404 carry them too), and refuses bodies the API never accepts.
 */
@Injectable()
export class RequestHardeningMiddleware implements NestMiddleware {
  private readonly allowedTypes: ReadonlySet<string>;

  constructor(@Inject(ZERO_TRUST_CONFIG) private readonly config: ResolvedZeroTrustConfig) {
    this.allowedTypes = new Set(config.allowedContentTypes);
  }

  use(request: IncomingMessage, response: ServerResponse, next: (error?: unknown) => void): void {
    const res = rawResponse(response);
    res.setHeader(REQUEST_ID_HEADER, assignRequestId(request));
    assignClientIp(request, this.config.clientIp.resolve(request));
    applyHeaders(res, this.config.headers);
    this.checkBody(request);
    next();
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
    if (!this.allowedTypes.has(mediaType)) {
      throw new UnsupportedMediaTypeException(`Content-Type must be ${[...this.allowedTypes].join(' or ')}.`);
    }
  }
}

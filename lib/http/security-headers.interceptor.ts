import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Observable } from 'rxjs';
import { SECURITY_HEADERS_KEY } from '../zero-trust.constants.js';
import { rawResponse } from './request-context.js';
import { applyHeaders, type ResolvedHeaders, resolveSecurityHeaders, type SecurityHeaderOverrides } from './security-headers.js';

/** Applies `@SecurityHeaders()` overrides. Resolved once per handler, then reused. */
@Injectable()
export class SecurityHeadersInterceptor implements NestInterceptor {
  private readonly perHandler = new WeakMap<object, ResolvedHeaders | null>();

  constructor(private readonly reflector: Reflector) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() === 'http') {
      const headers = this.headersFor(context);
      if (headers) applyHeaders(rawResponse(context.switchToHttp().getResponse<object>()), headers);
    }
    return next.handle();
  }

  private headersFor(context: ExecutionContext): ResolvedHeaders | null {
    const handler = context.getHandler();
    let headers = this.perHandler.get(handler);
    if (headers === undefined) {
      const classLevel = this.reflector.get<SecurityHeaderOverrides>(SECURITY_HEADERS_KEY, context.getClass());
      const routeLevel = this.reflector.get<SecurityHeaderOverrides>(SECURITY_HEADERS_KEY, handler);
      headers = classLevel || routeLevel ? resolveSecurityHeaders({ ...classLevel, ...routeLevel }, {}, []) : null;
      this.perHandler.set(handler, headers);
    }
    return headers;
  }
}

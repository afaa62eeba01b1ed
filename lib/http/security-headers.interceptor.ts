import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { rawResponse } from '../core/request-context.js';
import { RoutePlans } from '../core/route-plan.js';
import { SECURITY_HEADERS_PLAN } from './http.plan.js';
import { applyHeaders } from './security-headers.js';

/** Applies a route's `@SecurityHeaders()` overrides, resolved at boot. */
@Injectable()
export class SecurityHeadersInterceptor implements NestInterceptor {
  constructor(private readonly plans: RoutePlans) {
    plans.register(SECURITY_HEADERS_PLAN);
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() === 'http') {
      const headers = this.plans.of(context).get(SECURITY_HEADERS_PLAN);
      if (headers) applyHeaders(rawResponse(context.switchToHttp().getResponse<object>()), headers);
    }
    return next.handle();
  }
}

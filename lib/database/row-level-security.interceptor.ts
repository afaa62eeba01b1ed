import { type CallHandler, type ExecutionContext, Inject, Injectable, type NestInterceptor } from '@nestjs/common';
import { defer, lastValueFrom, type Observable } from 'rxjs';
import { RequestContexts } from '../core/request-context.js';
import { RoutePlans } from '../core/route-plan.js';
import { DataSourceRef } from './data-source.ref.js';
import { DATABASE_CONFIG } from './database.internal-constants.js';
import type { DatabaseConfig } from './database.options.js';
import { RLS_PLAN } from './database.plan.js';
import { RlsContext } from './rls-context.js';

/**
 * With `rowLevelSecurity: true`, runs each authenticated handler that touches owned data inside the
 * request's one transaction whose settings name the caller (opened here unless the ownership check
 * already did), and commits it before the response leaves: an acknowledged write is a committed one.
 */
@Injectable()
export class RowLevelSecurityInterceptor implements NestInterceptor {
  constructor(
    private readonly plans: RoutePlans,
    private readonly dataSources: DataSourceRef,
    @Inject(DATABASE_CONFIG) private readonly config: DatabaseConfig,
  ) {
    plans.register(RLS_PLAN);
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (!this.config.rowLevelSecurity || context.getType() !== 'http') return next.handle();
    const requestContext = RequestContexts.of(context.switchToHttp().getRequest<object>());
    const principal = requestContext.principal;
    if (!principal || !this.plans.of(context).get(RLS_PLAN)) return next.handle();
    return defer(async () => {
      try {
        await RlsContext.enter(requestContext, await this.dataSources.get(), principal, { adopt: true });
        const result = await lastValueFrom(next.handle(), { defaultValue: undefined });
        await RlsContext.end(requestContext, 'commit');
        return result;
      } catch (error) {
        await RlsContext.end(requestContext, 'rollback').catch(() => undefined);
        throw error;
      }
    });
  }
}

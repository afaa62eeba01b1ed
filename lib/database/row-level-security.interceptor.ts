import { type CallHandler, type ExecutionContext, Inject, Injectable, type NestInterceptor } from '@nestjs/common';
import { defer, lastValueFrom, mergeMap, type Observable, toArray } from 'rxjs';
import type { ZeroTrustPrincipal } from '../core/principal.interface.js';
import { type RequestContext, RequestContexts } from '../core/request-context.js';
import { contextOfExecution } from '../core/request-view.js';
import { RoutePlans } from '../core/route-plan.js';
import { DataSourceRef } from './data-source.ref.js';
import { DATABASE_CONFIG } from './database.internal-constants.js';
import type { DatabaseConfig } from './database.options.js';
import { RLS_PLAN } from './database.plan.js';
import { RlsContext } from './rls-context.js';

/**
 * With `rowLevelSecurity: true`, runs each authenticated handler that touches owned data inside a
 * transaction whose settings name the caller, and commits it before the answer leaves: an acknowledged
 * write is a committed one. HTTP: the request's one transaction (opened here unless the ownership check
 * already did). Other transports (a GraphQL field, a WebSocket or RPC message): a transaction of the
 * call's own, opened here and always ended here, so parallel fields never share one.
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
    if (!this.config.rowLevelSecurity) return next.handle();
    if (context.getType() !== 'http') return this.interceptCall(context, next);
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

  /**
   * A call of another transport, in its own context (a GraphQL field's is keyed by its `info`): the
   * ownership check's lookup ran in a short transaction of its own that has already ended (nothing here
   * to hand over, so nothing a later guard's refusal could leave open), and the handler gets a new one.
   * Every value the handler emits is kept until the commit, then passed on: a WebSocket or RPC handler
   * may answer with several, and none may reach the client before its write is committed.
   */
  private interceptCall(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const requestContext = contextOfExecution(context);
    const principal = requestContext?.principal;
    if (!requestContext || !principal || !this.plans.of(context).get(RLS_PLAN)) return next.handle();
    return defer(() => this.inTransaction(requestContext, principal, next)).pipe(mergeMap((values) => values));
  }

  private async inTransaction(requestContext: RequestContext, principal: ZeroTrustPrincipal, next: CallHandler): Promise<unknown[]> {
    try {
      await RlsContext.enter(requestContext, await this.dataSources.get(), principal, { adopt: true });
      const values = await lastValueFrom(next.handle().pipe(toArray()));
      await RlsContext.end(requestContext, 'commit');
      return values;
    } catch (error) {
      await RlsContext.end(requestContext, 'rollback').catch(() => undefined);
      throw error;
    }
  }
}

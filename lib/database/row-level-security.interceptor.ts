import { type CallHandler, type ExecutionContext, Inject, Injectable, type NestInterceptor } from '@nestjs/common';
import { from, lastValueFrom, type Observable } from 'rxjs';
import type { ZeroTrustPrincipal } from '../auth/principal.interface.js';
import { EntityAccess } from '../authz/entity-access.js';
import { RoutePolicies } from '../authz/route-policy.js';
import { ZERO_TRUST_CONFIG } from '../zero-trust.internal-constants.js';
import type { ResolvedZeroTrustConfig } from '../zero-trust.options.js';

/**
 * With `rowLevelSecurity: true`, runs each authenticated handler that touches owned data
 * (`@OwnsResource`, `@Owned`, or `@RowLevelSecurity()`) inside one transaction whose settings name the
 * caller, so the database's own policies filter every row it reads or writes.
 */
@Injectable()
export class RowLevelSecurityInterceptor implements NestInterceptor {
  constructor(
    private readonly policies: RoutePolicies,
    private readonly entities: EntityAccess,
    @Inject(ZERO_TRUST_CONFIG) private readonly config: ResolvedZeroTrustConfig,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (!this.config.rowLevelSecurity || context.getType() !== 'http') return next.handle();
    const principal = context.switchToHttp().getRequest<{ user?: ZeroTrustPrincipal }>().user;
    const policy = this.policies.for(context.getHandler(), context.getClass());
    if (!principal || !policy.touchesOwnedData) return next.handle();
    return from(this.entities.asPrincipal(principal, () => lastValueFrom(next.handle(), { defaultValue: undefined })));
  }
}

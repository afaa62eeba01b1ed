import {
  type CanActivate,
  type ExecutionContext,
  ForbiddenException,
  Inject,
  Injectable,
  NotFoundException,
  UnauthorizedException,
} from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { AUTH_PLAN } from '../auth/auth.plan.js';
import type { ZeroTrustPrincipal } from '../core/principal.interface.js';
import { type RequestContext, RequestContexts, rawResponse } from '../core/request-context.js';
import { RoutePlans } from '../core/route-plan.js';
import { contextOf, requestView } from '../core/request-view.js';
import { DataSourceRef } from '../database/data-source.ref.js';
import { DATABASE_CONFIG } from '../database/database.internal-constants.js';
import type { DatabaseConfig } from '../database/database.options.js';
import { RlsContext } from '../database/rls-context.js';
import { MFA_METHODS } from '../mfa/require-mfa.decorator.js';
import { AnomalyDetector } from '../monitoring/anomaly-detector.js';
import { AUTHZ_CONFIG } from './authz.internal-constants.js';
import type { AuthzConfig } from './authz.options.js';
import { AUTHZ_PLAN } from './authz.plan.js';
import { readPath } from './entity-access.js';
import { ResourceLoader } from './resource-loader.port.js';
import { loadedResource } from './loaded-resource.slot.js';
import type { OwnershipRule } from './owns-resource.decorator.js';

type DenialReason = 'no_rule' | 'blocked' | 'mfa_required' | 'missing_scope' | 'missing_role' | 'not_owner' | 'not_found' | 'parent_mismatch';

class AccessDenied extends Error {
  constructor(
    readonly reason: DenialReason,
    readonly rule: string,
    readonly resource?: { type: string; id?: string | number },
    readonly status: 'forbidden' | 'not_found' = 'forbidden',
  ) {
    super(reason);
  }
}

/**
 * Runs after authentication on every non-public route and asks "may this caller do this to this
 * record?": scopes, roles, then ownership of the record loaded by primary key. Routes without a
 * rule are refused at boot in strict mode, and denied here if one slips through. Registered by class:
 * subclass it and register the subclass with the `enhancers.authorizationGuard` option.
 */
@Injectable()
export class AuthorizationGuard implements CanActivate {
  constructor(
    protected readonly plans: RoutePlans,
    protected readonly resources: ResourceLoader,
    protected readonly audit: AuditService,
    protected readonly anomalies: AnomalyDetector,
    protected readonly dataSources: DataSourceRef,
    @Inject(AUTHZ_CONFIG) protected readonly config: AuthzConfig,
    @Inject(DATABASE_CONFIG) protected readonly database: DatabaseConfig,
  ) {
    plans.register(AUTHZ_PLAN);
  }

  canActivate(context: ExecutionContext): Promise<boolean> {
    const view = requestView(context);
    // Deny-by-default for a transport the module does not know, even behind a replaced authentication guard.
    if (!view) throw new UnauthorizedException();
    // Inside the call's context, so the ownership lookup joins its row-level-security transaction. The ids an
    // ownership rule reads: route parameters, a resolver's arguments, a message's payload.
    const request = view.transport === 'http' ? (view.httpRequest as { params?: Record<string, unknown> }) : { params: view.params };
    return RequestContexts.enter(contextOf(view), (requestContext) => this.authorize(context, request, requestContext));
  }

  protected async authorize(context: ExecutionContext, request: { params?: Record<string, unknown> }, requestContext: RequestContext): Promise<boolean> {
    const plan = this.plans.of(context);
    if (plan.get(AUTH_PLAN).isPublic) return true;
    // Fails closed even if a replaced authentication guard let a request through without a principal.
    const principal = requestContext.principal;
    if (!principal) throw new UnauthorizedException();
    const policy = plan.get(AUTHZ_PLAN);
    try {
      // Keyed by owner id, like the events the anomaly rules read: an external principal whose `sub` equals a
      // local user's id neither triggers nor inherits that user's block.
      if (this.anomalies.isBlocked(principal.ownerId)) throw new AccessDenied('blocked', 'AnomalyBlock');
      if (!policy.hasRule && this.config.authorization === 'strict') throw new AccessDenied('no_rule', 'none');
      if (policy.requireMfa && !principal.authMethods.some((method) => MFA_METHODS.includes(method))) {
        throw new AccessDenied('mfa_required', 'RequireMfa');
      }
      const missingScope = policy.scopes.find((scope) => !principal.scopes.includes(scope));
      if (missingScope) throw new AccessDenied('missing_scope', `Scopes(${policy.scopes.join(', ')})`);
      // One role of each level's @Roles (controller, then handler): a handler's list never replaces the controller's.
      const missingRoles = policy.roleGroups.find((group) => !group.some((role) => principal.roles.includes(role)));
      if (missingRoles) throw new AccessDenied('missing_role', `Roles(${missingRoles.join(', ')})`);
      if (policy.ownership) {
        const ownership = policy.ownership;
        const check = () => this.checkOwnership(ownership, principal, request.params ?? {});
        if (!this.database.rowLevelSecurity) {
          loadedResource.set(requestContext, await check());
        } else if (context.getType() === 'http') {
          // HTTP: the check opens the request's one transaction; the handler reuses it. If a later guard or
          // pipe refuses the request, no interceptor ends the transaction: the response's close does.
          const response = rawResponse(context.switchToHttp().getResponse<object>());
          await RlsContext.enter(requestContext, await this.dataSources.get(), principal, { response });
          loadedResource.set(requestContext, await check());
        } else {
          // Other transports have no response whose close could end a transaction left open for the
          // handler (a later guard's refusal would leak its connection, and 100 aliased fields 100 of them):
          // the lookup runs in a short transaction of its own under the caller's identity, ended before the
          // next guard runs, and the interceptor opens the handler's. The record may change in between; the
          // handler's queries still see only what the policies let this caller see.
          loadedResource.set(requestContext, await RlsContext.run(await this.dataSources.get(), principal, check));
        }
      }
      return true;
    } catch (error) {
      await this.endTransaction(requestContext);
      if (!(error instanceof AccessDenied)) throw error;
      this.audit.publish({
        type: 'access.denied',
        outcome: 'denied',
        reason: error.reason,
        principal: { subject: principal.ownerId, sessionId: principal.sessionId },
        details: { rule: error.rule, resource: error.resource?.type, resourceId: error.resource?.id },
      });
      if (error.status === 'not_found') throw new NotFoundException('Resource not found');
      throw new ForbiddenException('Access denied');
    }
  }

  private async endTransaction(requestContext: RequestContext): Promise<void> {
    await RlsContext.end(requestContext, 'rollback').catch(() => undefined);
  }

  /**
   * Owner values are compared with `principal.ownerId`: the subject for this app's own tokens,
   * `<issuer>#<subject>` for an external issuer's, so issuer and subject must both match (issue 13.7).
   * An owner function receives the whole principal and must do the same.
   */
  private async checkOwnership(rule: OwnershipRule, principal: ZeroTrustPrincipal, params: Record<string, unknown>): Promise<object> {
    const { entity, options } = rule;
    const ruleName = `OwnsResource(${entity.name})`;
    const denial = options.onDenied === 'forbidden' ? 'forbidden' : 'not_found';
    const isAdmin = options.adminScope !== undefined && principal.scopes.includes(options.adminScope);
    const ownerPath = typeof options.owner === 'string' ? options.owner : options.owner ? undefined : options.parent ? undefined : 'ownerId';

    let parentId: string | number | undefined;
    if (options.parent) {
      const parent = options.parent;
      parentId = await this.resources.parseId(parent.entity, params[parent.param]);
      const record = await this.resources.findById(parent.entity, parentId);
      const resource = { type: parent.entity.name, id: parentId };
      if (!record) throw new AccessDenied('not_found', ruleName, resource, 'not_found');
      if (!isAdmin && !sameId(readPath(record, parent.owner ?? 'ownerId'), principal.ownerId)) {
        throw new AccessDenied('not_owner', ruleName, resource, denial);
      }
    }

    const id = await this.resources.parseId(entity, params[options.param ?? 'id']);
    const relation = ownerPath?.includes('.') ? ownerPath.slice(0, ownerPath.lastIndexOf('.')) : undefined;
    const record = await this.resources.findById(entity, id, relation);
    const resource = { type: entity.name, id };
    if (!record) throw new AccessDenied('not_found', ruleName, resource, 'not_found');
    if (options.parent && !sameId(readPath(record, options.parent.foreignKey), parentId)) {
      // /notes/<mine>/comments/<a comment of someone else's note>: the chain must hold link by link.
      throw new AccessDenied('parent_mismatch', ruleName, resource, 'not_found');
    }
    if (isAdmin) return record;
    const owns =
      typeof options.owner === 'function'
        ? options.owner(record, principal) === true
        : ownerPath === undefined || sameId(readPath(record, ownerPath), principal.ownerId);
    if (!owns) throw new AccessDenied('not_owner', ruleName, resource, denial);
    return record;
  }
}

function sameId(a: unknown, b: unknown): boolean {
  return a !== undefined && a !== null && b !== undefined && String(a) === String(b);
}

import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { AUTH_PLAN } from '../auth/auth.plan.js';
import { RoutePlans } from '../core/route-plan.js';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';
import { refuseBoot } from '../database/boot-refusal.js';
import type { EntityClass } from '../database/entity-class.js';
import { ResourceLoader } from './resource-loader.port.js';
import { OWNS_RESOURCE_KEY } from './authz.constants.js';
import { AUTHZ_CONFIG } from './authz.internal-constants.js';
import type { AuthzConfig } from './authz.options.js';
import { AUTHZ_PLAN } from './authz.plan.js';

/** @nestjs/graphql's options token, by name (the package is an optional peer). */
const GRAPHQL_MODULE_OPTIONS = 'GqlModuleOptions';

/**
 * At boot, finds every non-public handler (an HTTP route, a GraphQL operation or resolve-field, a
 * WebSocket message handler, a microservice message or event pattern) that declares no authorization rule. In strict mode the app
 * refuses to start and names them; in report mode (for existing apps) it warns once.
 */
@Injectable()
export class RouteRulesCheck implements OnApplicationBootstrap {
  private readonly logger = new Logger('ZeroTrustModule');

  constructor(
    private readonly plans: RoutePlans,
    private readonly resources: ResourceLoader,
    @Inject(AUTHZ_CONFIG) private readonly config: AuthzConfig,
    private readonly moduleRef: ModuleRef,
  ) {}

  /** Whether the app's GraphQL module runs guards on field resolvers (`fieldResolverEnhancers`). */
  private fieldGuardsRun(): boolean {
    let options: { fieldResolverEnhancers?: unknown } | undefined;
    try {
      options = this.moduleRef.get(GRAPHQL_MODULE_OPTIONS, { strict: false });
    } catch {
      // No GraphQL module in this app: a resolve-field without one is never served, so nothing runs unguarded.
      return true;
    }
    return Array.isArray(options?.fieldResolverEnhancers) && options.fieldResolverEnhancers.includes('guards');
  }

  async onApplicationBootstrap(): Promise<void> {
    const unruled: string[] = [];
    const owned = new Set<EntityClass>();
    const unguardedFields: string[] = [];
    for (const { controller, handler, name } of this.plans.routes()) {
      // A class-level @OwnsResource would be silently ignored (the rule needs the handler's route parameter):
      // refuse it rather than let a scope-only rule pass for ownership.
      if (Reflect.getMetadata(OWNS_RESOURCE_KEY, controller) !== undefined && Reflect.getMetadata(OWNS_RESOURCE_KEY, handler) === undefined) {
        throw new ZeroTrustConfigurationError(`@OwnsResource on the class ${controller.name} is not supported: put it on each handler (${controller.name}.${name}).`);
      }
    }
    // Every handler a client can reach, on every transport: HTTP routes, GraphQL queries, mutations,
    // subscriptions and resolve-fields, WebSocket message handlers, microservice message and event patterns.
    for (const { controller, handler, name, entry } of this.plans.handlers()) {
      const plan = this.plans.plan(handler, controller);
      const policy = plan.get(AUTHZ_PLAN);
      if (policy.ownership) {
        owned.add(policy.ownership.entity);
        if (policy.ownership.options.parent) owned.add(policy.ownership.options.parent.entity);
      }
      if (entry.resolveField && !this.fieldGuardsRun()) unguardedFields.push(`  - ${entry.label} (${controller.name}.${name})`);
      if (plan.get(AUTH_PLAN).isPublic || policy.hasRule) continue;
      unruled.push(`${entry.label} (${controller.name}.${name})`);
    }
    if (unguardedFields.length > 0) {
      // Nest runs no guard on a @ResolveField unless the GraphQL module lists them: its rules would be decoration.
      const message =
        `${unguardedFields.length} GraphQL resolve-field(s) would run without the module's guards:\n${unguardedFields.join('\n')}\n` +
        "Set fieldResolverEnhancers: ['guards', 'interceptors', 'filters'] in GraphQLModule.forRoot (zeroTrustGraphql() does).";
      if (this.config.authorization === 'strict') refuseBoot(message);
      else this.logger.warn(message);
    }
    // Fail at boot, not at the first request, when ownership checks have no database to ask.
    await this.resources.assertReady([...owned]);
    if (unruled.length === 0) return;
    const list = unruled.map((route) => `  - ${route}`).join('\n');
    const fix = 'Give each one @OwnsResource(...), @Scopes(...), @Roles(...), @Authenticated() or @Public().';
    if (this.config.authorization === 'strict') {
      refuseBoot(`${unruled.length} route(s) declare no authorization rule:\n${list}\n${fix}`);
      return;
    }
    this.logger.warn(
      `${unruled.length} route(s) declare no authorization rule (authorization: 'report', so any signed-in user may ` +
        `call them):\n${list}\n${fix} Then switch to authorization: 'strict'.`,
    );
  }
}

import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { AUTH_PLAN } from '../auth/auth.plan.js';
import { RoutePlans } from '../core/route-plan.js';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';
import { refuseBoot } from '../database/boot-refusal.js';
import type { EntityClass } from '../database/entity-class.js';
import { type PropertyReference, ResourceLoader } from './resource-loader.port.js';
import { OWNS_RESOURCE_KEY } from './authz.constants.js';
import { AUTHZ_CONFIG } from './authz.internal-constants.js';
import type { AuthzConfig } from './authz.options.js';
import { AUTHZ_PLAN } from './authz.plan.js';

/** Where Nest keeps a handler's parameter decorators (`@Param`, `@Args`), by name. */
const ROUTE_ARGS_METADATA = '__routeArguments__';
/** `@Args()`'s parameter type in @nestjs/graphql (GqlParamtype.ARGS). */
const GRAPHQL_ARGS = 3;

/**
 * The ids a handler receives, where they can be known at boot: an HTTP route's parameters (every path of the
 * controller and the handler), a GraphQL resolver's named `@Args`. `undefined` where they cannot (a socket's
 * or a message's payload, a resolver taking its arguments whole).
 */
function declaredIds(transport: string, controller: Function, handler: Function, name: string): string[] | undefined {
  if (transport === 'http') {
    const paths = (target: object) => [Reflect.getMetadata('path', target) ?? ''].flat().map(String);
    const combinations = paths(controller).flatMap((prefix) => paths(handler).map((path) => `${prefix}/${path}`));
    // An id is declared only if every path the handler is served under has it.
    const perPath = combinations.map((path) => [...path.matchAll(/:(\w+)/g)].map((match) => match[1]));
    return perPath.reduce((common, ids) => common.filter((id) => ids.includes(id)));
  }
  if (transport === 'graphql') {
    const args = Object.entries((Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, name) ?? {}) as Record<string, { data?: unknown }>)
      .filter(([key]) => Number(key.split(':')[0]) === GRAPHQL_ARGS)
      .map(([, value]) => (typeof value.data === 'string' ? value.data : (value.data as { name?: unknown } | undefined)?.name));
    return args.length > 0 && args.every((arg) => typeof arg === 'string') ? (args as string[]) : undefined;
  }
  return undefined;
}

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
    const properties: PropertyReference[] = [];
    const missingIds: string[] = [];
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
        const { entity, options } = policy.ownership;
        const where = `${entry.label} (${controller.name}.${name})`;
        owned.add(entity);
        if (typeof options.owner === 'string') properties.push({ entity, path: options.owner, option: 'owner', where });
        else if (options.owner === undefined && !options.parent) properties.push({ entity, path: 'ownerId', option: 'owner (default)', where });
        if (options.parent) {
          owned.add(options.parent.entity);
          properties.push({ entity: options.parent.entity, path: options.parent.owner ?? 'ownerId', option: 'parent.owner', where });
          properties.push({ entity, path: options.parent.foreignKey, option: 'parent.foreignKey', where });
        }
        const wanted = [options.param ?? 'id', ...(options.parent ? [options.parent.param] : [])];
        const declared = declaredIds(entry.transport, controller, handler, name);
        const missing = declared ? wanted.filter((id) => !declared.includes(id)) : [];
        if (missing.length > 0) {
          const kind = entry.transport === 'http' ? 'route parameter' : 'argument';
          missingIds.push(
            `  - ${where}: @OwnsResource(${entity.name}) reads the ${kind} ${missing.map((id) => `"${id}"`).join(', ')}, which the handler does not have ` +
              `(it has ${declared!.length ? declared!.map((id) => `"${id}"`).join(', ') : 'none'}): set param${options.parent ? ' / parent.param' : ''} to the right name.`,
          );
        }
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
    // A rule reading an id the handler never receives would answer 400 ("id must be a UUID") to every owner.
    if (missingIds.length > 0) throw new ZeroTrustConfigurationError(`@OwnsResource names ids the handlers do not receive:\n${missingIds.join('\n')}`);
    // Fail at boot, not at the first request, when ownership checks have no database to ask or read a property the entity lacks.
    await this.resources.assertReady([...owned], properties);
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

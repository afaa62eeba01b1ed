import { Inject, Injectable, Logger, type OnApplicationBootstrap, RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { AUTH_PLAN } from '../auth/auth.plan.js';
import { RoutePlans } from '../core/route-plan.js';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';
import type { EntityClass } from '../database/entity-class.js';
import { ResourceLoader } from './resource-loader.port.js';
import { OWNS_RESOURCE_KEY } from './authz.constants.js';
import { AUTHZ_CONFIG } from './authz.internal-constants.js';
import type { AuthzConfig } from './authz.options.js';
import { AUTHZ_PLAN } from './authz.plan.js';

const joinPath = (...parts: unknown[]) =>
  `/${parts.flatMap((part) => String(part ?? '').split('/')).filter(Boolean).join('/')}`;

/**
 * At boot, finds every non-public route that declares no authorization rule. In strict mode the app
 * refuses to start and names them; in report mode (for existing apps) it warns once.
 */
@Injectable()
export class RouteRulesCheck implements OnApplicationBootstrap {
  private readonly logger = new Logger('ZeroTrustModule');

  constructor(
    private readonly plans: RoutePlans,
    private readonly resources: ResourceLoader,
    @Inject(AUTHZ_CONFIG) private readonly config: AuthzConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const unruled: string[] = [];
    const owned = new Set<EntityClass>();
    for (const { controller, handler, name } of this.plans.routes()) {
      // A class-level @OwnsResource would be silently ignored (the rule needs the handler's route parameter):
      // refuse it rather than let a scope-only rule pass for ownership.
      if (Reflect.getMetadata(OWNS_RESOURCE_KEY, controller) !== undefined && Reflect.getMetadata(OWNS_RESOURCE_KEY, handler) === undefined) {
        throw new ZeroTrustConfigurationError(`@OwnsResource on the class ${controller.name} is not supported: put it on each handler (${controller.name}.${name}).`);
      }
      const path = Reflect.getMetadata(PATH_METADATA, handler);
      if (path === undefined) continue;
      const plan = this.plans.plan(handler, controller);
      const policy = plan.get(AUTHZ_PLAN);
      if (policy.ownership) {
        owned.add(policy.ownership.entity);
        if (policy.ownership.options.parent) owned.add(policy.ownership.options.parent.entity);
      }
      if (plan.get(AUTH_PLAN).isPublic || policy.hasRule) continue;
      const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as number] ?? 'ALL';
      const base = Reflect.getMetadata(PATH_METADATA, controller);
      unruled.push(`${method} ${joinPath([base].flat()[0], [path].flat()[0])} (${controller.name}.${name})`);
    }
    // Fail at boot, not at the first request, when ownership checks have no database to ask.
    await this.resources.assertReady([...owned]);
    if (unruled.length === 0) return;
    const list = unruled.map((route) => `  - ${route}`).join('\n');
    const fix = 'Give each one @OwnsResource(...), @Scopes(...), @Roles(...), @Authenticated() or @Public().';
    if (this.config.authorization === 'strict') {
      throw new ZeroTrustConfigurationError(`${unruled.length} route(s) declare no authorization rule:\n${list}\n${fix}`);
    }
    this.logger.warn(
      `${unruled.length} route(s) declare no authorization rule (authorization: 'report', so any signed-in user may ` +
        `call them):\n${list}\n${fix} Then switch to authorization: 'strict'.`,
    );
  }
}

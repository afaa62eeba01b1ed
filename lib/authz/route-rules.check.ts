import { Inject, Injectable, Logger, type OnApplicationBootstrap, RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { ZERO_TRUST_CONFIG } from '../zero-trust.internal-constants.js';
import type { ResolvedZeroTrustConfig } from '../zero-trust.options.js';
import { ZeroTrustConfigurationError } from '../zero-trust-configuration.error.js';
import { EntityAccess } from './entity-access.js';
import { RoutePolicies } from './route-policy.js';

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
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly policies: RoutePolicies,
    private readonly entities: EntityAccess,
    @Inject(ZERO_TRUST_CONFIG) private readonly config: ResolvedZeroTrustConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const unruled: string[] = [];
    let usesOwnership = false;
    for (const wrapper of this.discovery.getControllers()) {
      const controller = wrapper.metatype as (new (...args: never[]) => object) | null;
      if (!controller?.prototype) continue;
      const base = Reflect.getMetadata(PATH_METADATA, controller);
      for (const name of this.scanner.getAllMethodNames(controller.prototype)) {
        const handler = controller.prototype[name as keyof object] as object;
        const path = Reflect.getMetadata(PATH_METADATA, handler);
        if (path === undefined) continue;
        const policy = this.policies.for(handler, controller);
        usesOwnership ||= policy.ownership !== undefined;
        if (policy.isPublic || policy.hasRule) continue;
        const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as number] ?? 'ALL';
        unruled.push(`${method} ${joinPath([base].flat()[0], [path].flat()[0])} (${controller.name}.${name})`);
      }
    }
    // Fail at boot, not at the first request, when ownership checks have no database to ask.
    if (usesOwnership) await this.entities.resolveDataSource();
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

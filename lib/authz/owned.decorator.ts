import { createParamDecorator, type ExecutionContext, Inject, Injectable, type PipeTransform, UnauthorizedException } from '@nestjs/common';
import type { ZeroTrustPrincipal } from '../auth/principal.interface.js';
import { USES_OWNED_REPOSITORY_KEY } from '../zero-trust.constants.js';
import { ZERO_TRUST_CONFIG } from '../zero-trust.internal-constants.js';
import type { ResolvedZeroTrustConfig } from '../zero-trust.options.js';
import { EntityAccess } from './entity-access.js';
import { OwnedRepository } from './owned.repository.js';
import type { EntityClass } from './owns-resource.decorator.js';

interface OwnedRequest {
  entity: EntityClass;
  owner: string;
  principal?: ZeroTrustPrincipal;
}

const OwnedRequestParam = createParamDecorator(
  (data: Omit<OwnedRequest, 'principal'>, context: ExecutionContext): OwnedRequest => ({
    ...data,
    principal: context.switchToHttp().getRequest<{ user?: ZeroTrustPrincipal }>().user,
  }),
);

@Injectable()
export class OwnedRepositoryPipe implements PipeTransform<OwnedRequest, Promise<OwnedRepository<object>>> {
  constructor(
    private readonly entities: EntityAccess,
    @Inject(ZERO_TRUST_CONFIG) private readonly config: ResolvedZeroTrustConfig,
  ) {}

  async transform(request: OwnedRequest): Promise<OwnedRepository<object>> {
    if (!request.principal) throw new UnauthorizedException();
    const repository = await this.entities.repository(request.entity);
    return new OwnedRepository(repository, request.principal.subject, request.owner, this.config.maxPageSize);
  }
}

/**
 * Injects an `OwnedRepository` of `entity` scoped to the caller:
 * `list(@Owned(Note) notes: OwnedRepository<Note>) { return notes.find(); }`.
 */
export const Owned =
  (entity: EntityClass, options: { owner?: string } = {}): ParameterDecorator =>
  (target, property, index) => {
    OwnedRequestParam({ entity, owner: options.owner ?? 'ownerId' }, OwnedRepositoryPipe)(target, property, index);
    // Marks the handler as touching owned data, so row-level security wraps it.
    if (property !== undefined) Reflect.defineMetadata(USES_OWNED_REPOSITORY_KEY, true, (target as Record<string | symbol, object>)[property]);
  };

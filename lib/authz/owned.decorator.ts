import { createParamDecorator, type ExecutionContext, Inject, Injectable, type PipeTransform, UnauthorizedException } from '@nestjs/common';
import type { ZeroTrustPrincipal } from '../core/principal.interface.js';
import { contextOfExecution } from '../core/request-view.js';
import { ROW_LEVEL_SECURITY_KEY } from '../database/database.constants.js';
import { AUTHZ_CONFIG } from './authz.internal-constants.js';
import type { AuthzConfig } from './authz.options.js';
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
    principal: contextOfExecution(context)?.principal,
  }),
);

@Injectable()
export class OwnedRepositoryPipe implements PipeTransform<OwnedRequest, Promise<OwnedRepository<object>>> {
  constructor(
    private readonly entities: EntityAccess,
    @Inject(AUTHZ_CONFIG) private readonly config: AuthzConfig,
  ) {}

  async transform(request: OwnedRequest): Promise<OwnedRepository<object>> {
    if (!request.principal) throw new UnauthorizedException();
    const repository = await this.entities.repository(request.entity);
    // Issuer and subject together (issue 13.7): an external principal's owner id is `<issuer>#<subject>`.
    return new OwnedRepository(repository, request.principal.ownerId, request.owner, this.config.maxPageSize);
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
    // Marks the handler as touching owned data, so it runs in the request's row-level-security transaction.
    if (property !== undefined) Reflect.defineMetadata(ROW_LEVEL_SECURITY_KEY, true, (target as Record<string | symbol, object>)[property]);
  };

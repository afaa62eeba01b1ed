import { applyDecorators, SetMetadata } from '@nestjs/common';
import type { ZeroTrustPrincipal } from '../core/principal.interface.js';
import { ROW_LEVEL_SECURITY_KEY } from '../database/database.constants.js';
import { OWNS_RESOURCE_KEY } from './authz.constants.js';

import type { EntityClass } from '../database/entity-class.js';

export type { EntityClass };

export interface ParentResourceOptions {
  /** The parent entity, e.g. `Note` for `/notes/:noteId/comments/:id`. */
  entity: EntityClass;
  /** Route parameter holding the parent's id. */
  param: string;
  /** Property of the child that references the parent, e.g. `noteId`. */
  foreignKey: string;
  /** Owner property of the parent. Default `ownerId`. */
  owner?: string;
}

export interface OwnsResourceOptions<T = object> {
  /** Route parameter holding the record's primary key. Default `id`. */
  param?: string;
  /**
   * Who owns the record: a property (`ownerId`), a relation path (`project.ownerId`, loaded with the
   * record), or a function. Default `ownerId`; with `parent` and no `owner`, the parent's owner decides.
   */
  owner?: string | ((record: T, principal: ZeroTrustPrincipal) => boolean);
  /** Answer for a record the caller does not own. Default `not_found`, so existence never leaks. */
  onDenied?: 'not_found' | 'forbidden';
  /** A scope that grants access to every record of this type (e.g. `notes:admin`). Never implicit. */
  adminScope?: string;
  /** Nested resources: the parent named by another route parameter must be owned too and be the record's parent. */
  parent?: ParentResourceOptions;
}

export interface OwnershipRule {
  entity: EntityClass;
  options: OwnsResourceOptions;
}

/**
 * Before the handler runs, loads the record named by the route parameter through TypeORM (one
 * primary-key lookup) and checks that the caller owns it. Get the record with `@OwnedResource()`
 * instead of querying again. With row-level security on, the check and the handler share one transaction.
 */
export const OwnsResource = <T extends object>(entity: abstract new (...args: never[]) => T, options: OwnsResourceOptions<T> = {}) =>
  applyDecorators(
    SetMetadata<string, OwnershipRule>(OWNS_RESOURCE_KEY, { entity, options: options as OwnsResourceOptions }),
    SetMetadata(ROW_LEVEL_SECURITY_KEY, true),
  );

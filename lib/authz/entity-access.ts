import { BadRequestException, Injectable } from '@nestjs/common';
import type { ObjectLiteral, Repository } from 'typeorm';
import { DataSourceRef } from '../database/data-source.ref.js';
import { RlsContext } from '../database/rls-context.js';
import type { EntityClass } from './owns-resource.decorator.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const INTEGER = /^(0|[1-9]\d{0,15})$/;
const INTEGER_TYPES = new Set<unknown>(['int', 'int2', 'int4', 'int8', 'integer', 'smallint', 'bigint', Number]);

/**
 * The resource-loader port's TypeORM adapter: repositories for ownership checks and owned queries,
 * bound to the request's row-level-security transaction when one is open.
 */
@Injectable()
export class EntityAccess {
  constructor(private readonly dataSources: DataSourceRef) {}

  /** Inside a row-level-security transaction, the repository is bound to it. */
  async repository<T extends ObjectLiteral>(entity: EntityClass): Promise<Repository<T>> {
    const manager = RlsContext.manager();
    if (manager) return manager.getRepository<T>(entity as never);
    return (await this.dataSources.get()).getRepository<T>(entity as never);
  }

  /**
   * Parses a primary key from a request before it reaches SQL: a malformed id answers 400 instead of a
   * database error (500) or an unexpected cast.
   */
  static parseId(repository: Repository<ObjectLiteral>, raw: unknown): string | number {
    const column = repository.metadata.primaryColumns[0];
    const value = typeof raw === 'string' ? raw : undefined;
    if (column.type === 'uuid') {
      if (value === undefined || !UUID.test(value)) throw new BadRequestException(`${column.propertyName} must be a UUID`);
      return value.toLowerCase();
    }
    if (INTEGER_TYPES.has(column.type)) {
      if (value === undefined || !INTEGER.test(value)) throw new BadRequestException(`${column.propertyName} must be a non-negative integer`);
      return Number(value);
    }
    if (value === undefined || value.length === 0 || value.length > 255) {
      throw new BadRequestException(`${column.propertyName} must be a string of 1 to 255 characters`);
    }
    return value;
  }
}

/**
 * Whether `ownerId` can be an owner value of the `property` column: a UUID column holds only UUIDs, an
 * integer column only integers. An external principal's owner id (`<issuer>#<subject>`) fits neither,
 * so it owns no row there: compared in SQL it would be a type error (a 500), never a match.
 */
export function ownerFitsColumn(repository: Repository<ObjectLiteral>, property: string, ownerId: string): boolean {
  const column = repository.metadata.findColumnWithPropertyPath(property);
  if (!column) return true;
  if (column.type === 'uuid') return UUID.test(ownerId);
  if (INTEGER_TYPES.has(column.type)) return INTEGER.test(ownerId);
  return true;
}

/** Reads `a.b.c` from a record; used for owner paths such as `project.ownerId`. */
export function readPath(record: unknown, path: string): unknown {
  // The common case, a column of the record itself (`ownerId`), without splitting a string per request.
  if (!path.includes('.')) return record !== null && typeof record === 'object' ? (record as Record<string, unknown>)[path] : undefined;
  let value: unknown = record;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

import { BadRequestException, Inject, Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { DataSource, ObjectLiteral, Repository } from 'typeorm';
import { ZERO_TRUST_CONFIG } from '../zero-trust.internal-constants.js';
import type { ResolvedZeroTrustConfig } from '../zero-trust.options.js';
import { ZeroTrustConfigurationError } from '../zero-trust-configuration.error.js';
import type { ZeroTrustPrincipal } from '../auth/principal.interface.js';
import { RlsContext } from '../database/rls-context.js';
import type { EntityClass } from './owns-resource.decorator.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const INTEGER = /^(0|[1-9]\d{0,15})$/;
const INTEGER_TYPES = new Set<unknown>(['int', 'int2', 'int4', 'int8', 'integer', 'smallint', 'bigint', Number]);

/**
 * TypeORM access for authorization: the DataSource is looked up lazily, so apps that never use
 * `@OwnsResource` or `OwnedRepository` need neither TypeORM nor a database.
 */
@Injectable()
export class EntityAccess {
  private dataSource?: DataSource;

  constructor(
    private readonly moduleRef: ModuleRef,
    @Inject(ZERO_TRUST_CONFIG) private readonly config: ResolvedZeroTrustConfig,
  ) {}

  /** Inside a row-level-security transaction, the repository is bound to it. */
  async repository<T extends ObjectLiteral>(entity: EntityClass): Promise<Repository<T>> {
    const manager = RlsContext.manager();
    if (manager) return manager.getRepository<T>(entity as never);
    return (await this.resolveDataSource()).getRepository<T>(entity as never);
  }

  /** Runs lookups for a principal: in a row-level-security transaction when that is on. */
  async asPrincipal<T>(principal: ZeroTrustPrincipal, work: () => Promise<T>): Promise<T> {
    if (!this.config.rowLevelSecurity) return work();
    return RlsContext.run(await this.resolveDataSource(), principal, () => work());
  }

  async resolveDataSource(): Promise<DataSource> {
    if (this.dataSource) return this.dataSource;
    const token = this.config.dataSource ?? (await import('typeorm')).DataSource;
    try {
      this.dataSource = this.moduleRef.get<DataSource>(token as never, { strict: false });
    } catch {
      throw new ZeroTrustConfigurationError(
        '@OwnsResource and OwnedRepository load records through TypeORM, but no DataSource was found. Import ' +
          'TypeOrmModule.forRoot(...) in the app, or set the `dataSource` option to the injection token of yours.',
      );
    }
    return this.dataSource;
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

/** Reads `a.b.c` from a record; used for owner paths such as `project.ownerId`. */
export function readPath(record: unknown, path: string): unknown {
  let value: unknown = record;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

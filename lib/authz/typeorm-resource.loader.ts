import { Injectable } from '@nestjs/common';
import type { ObjectLiteral } from 'typeorm';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';
import { DataSourceRef } from '../database/data-source.ref.js';
import type { EntityClass } from '../database/entity-class.js';
import { EntityAccess } from './entity-access.js';
import { ResourceLoader } from './resource-loader.port.js';

/** `@OwnsResource` through TypeORM: one primary-key lookup, in the request's RLS transaction when one is open. */
@Injectable()
export class TypeOrmResourceLoader extends ResourceLoader {
  constructor(
    private readonly entities: EntityAccess,
    private readonly dataSources: DataSourceRef,
  ) {
    super();
  }

  async assertReady(entities: readonly EntityClass[]): Promise<void> {
    if (entities.length === 0) return;
    const dataSource = await this.dataSources.get();
    for (const entity of entities) {
      if (!dataSource.hasMetadata(entity as never)) {
        throw new ZeroTrustConfigurationError(`@OwnsResource(${entity.name}): ${entity.name} is not an entity of the DataSource. Add it to TypeOrmModule's entities.`);
      }
    }
  }

  async parseId(entity: EntityClass, raw: unknown): Promise<string | number> {
    return EntityAccess.parseId(await this.entities.repository(entity), raw);
  }

  async findById(entity: EntityClass, id: string | number, relation?: string): Promise<object | null> {
    const repository = await this.entities.repository<ObjectLiteral>(entity);
    const key = repository.metadata.primaryColumns[0].propertyName;
    const relations = relation
      ?.split('.')
      .reduceRight<Record<string, unknown> | true>((inner, part) => ({ [part]: inner }), true) as Record<string, never> | undefined;
    return repository.findOne({ where: { [key]: id }, relations });
  }
}

import { Injectable } from '@nestjs/common';
import type { EntityMetadata, ObjectLiteral } from 'typeorm';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';
import { DataSourceRef } from '../database/data-source.ref.js';
import type { EntityClass } from '../database/entity-class.js';
import { EntityAccess } from './entity-access.js';
import { type PropertyReference, ResourceLoader } from './resource-loader.port.js';

/** `@OwnsResource` through TypeORM: one primary-key lookup, in the request's RLS transaction when one is open. */
@Injectable()
export class TypeOrmResourceLoader extends ResourceLoader {
  constructor(
    private readonly entities: EntityAccess,
    private readonly dataSources: DataSourceRef,
  ) {
    super();
  }

  async assertReady(entities: readonly EntityClass[], properties: readonly PropertyReference[] = []): Promise<void> {
    if (entities.length === 0) return;
    const dataSource = await this.dataSources.get();
    for (const entity of entities) {
      if (!dataSource.hasMetadata(entity as never)) {
        throw new ZeroTrustConfigurationError(`@OwnsResource(${entity.name}): ${entity.name} is not an entity of the DataSource. Add it to TypeOrmModule's entities.`);
      }
    }
    // A misspelt owner would make every owner's own record "not found" (audited as not_owner): said at boot.
    const problems = properties.flatMap((reference) => {
      const problem = missingProperty(dataSource.getMetadata(reference.entity as never), reference.path);
      return problem ? [`  - ${reference.where}: ${reference.option} '${reference.path}': ${problem}`] : [];
    });
    if (problems.length > 0) throw new ZeroTrustConfigurationError(`@OwnsResource reads properties the entities do not have:\n${problems.join('\n')}`);
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

/**
 * Why `path` cannot be read on records of `metadata` (relations, then a column, as the ownership check
 * loads and reads them), or `undefined` when it can.
 */
function missingProperty(metadata: EntityMetadata, path: string): string | undefined {
  const parts = path.split('.');
  let current = metadata;
  for (const [i, part] of parts.entries()) {
    const last = i === parts.length - 1;
    const relation = current.relations.find((candidate) => candidate.propertyName === part);
    if (!last) {
      if (!relation) return `${current.name} has no relation "${part}"${suggestion(part, current.relations.map((candidate) => candidate.propertyName))}.`;
      current = relation.inverseEntityMetadata;
      continue;
    }
    // A relation's own property holds the related record, not a value to compare; a column declared beside
    // it for its key (`@Column() projectId` with `@ManyToOne() project`) is a column like any other.
    if (relation) return `"${part}" is a relation of ${current.name}, not a column: name its key column (e.g. "${part}Id") or the related record's column ("${part}.id").`;
    const columns = current.columns.map((column) => column.propertyName).filter((property) => !current.relations.some((candidate) => candidate.propertyName === property));
    if (columns.includes(part)) return undefined;
    return `${current.name} has no column "${part}"${suggestion(part, columns)}.`;
  }
  return undefined;
}

function suggestion(name: string, candidates: string[]): string {
  const close = candidates.find((candidate) => candidate.toLowerCase() === name.toLowerCase() || candidate.toLowerCase().replace(/_/g, '') === name.toLowerCase().replace(/_/g, ''));
  return close ? ` (did you mean "${close}"?)` : candidates.length ? ` (it has ${candidates.join(', ')})` : '';
}

import type { EntityClass } from '../database/entity-class.js';

/**
 * The resource-loader port of `@OwnsResource`: how a record named by a route parameter is found. The
 * module's adapter is TypeORM (`TypeOrmResourceLoader`); an app whose records live elsewhere (another
 * ORM, a service) gives its own class through `ZeroTrustModule.forRoot({ ..., resourceLoader })`.
 */
export abstract class ResourceLoader {
  /**
   * Checked at boot for every entity an `@OwnsResource` names: throw a ZeroTrustConfigurationError that
   * says how to fix it (no data source, an entity it does not know) rather than fail at the first request.
   */
  abstract assertReady(entities: readonly EntityClass[]): Promise<void>;

  /** Turns a route parameter into the record's id, refusing a malformed one (400) before any query. */
  abstract parseId(entity: EntityClass, raw: unknown): Promise<string | number>;

  /** The record with that id, with the relation path the owner check reads (`project` for `project.ownerId`), or null. */
  abstract findById(entity: EntityClass, id: string | number, relation?: string): Promise<object | null>;
}

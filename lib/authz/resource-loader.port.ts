import type { EntityClass } from '../database/entity-class.js';

/** A property path an ownership rule reads on records of `entity` (`ownerId`, `project.ownerId`), and where the rule is. */
export interface PropertyReference {
  readonly entity: EntityClass;
  readonly path: string;
  /** The rule's option that names it (`owner`, `parent.owner`, `parent.foreignKey`). */
  readonly option: string;
  /** The handler, as the boot check lists it: `GET /notes/:id (NotesController.findOne)`. */
  readonly where: string;
}

/**
 * The resource-loader port of `@OwnsResource`: how a record named by a route parameter is found. The
 * module's adapter is TypeORM (`TypeOrmResourceLoader`); an app whose records live elsewhere (another
 * ORM, a service) gives its own class through `ZeroTrustModule.forRoot({ ..., resourceLoader })`.
 */
export abstract class ResourceLoader {
  /**
   * Checked at boot for every entity an `@OwnsResource` names, and every property path a rule reads
   * (`owner`, a parent's `owner`, `foreignKey`): throw a ZeroTrustConfigurationError that says how to fix
   * it (no data source, an entity it does not know, a misspelt owner) rather than fail at the first request.
   * A loader that cannot know an entity's properties may ignore `properties`.
   */
  abstract assertReady(entities: readonly EntityClass[], properties?: readonly PropertyReference[]): Promise<void>;

  /** Turns a route parameter into the record's id, refusing a malformed one (400) before any query. */
  abstract parseId(entity: EntityClass, raw: unknown): Promise<string | number>;

  /** The record with that id, with the relation path the owner check reads (`project` for `project.ownerId`), or null. */
  abstract findById(entity: EntityClass, id: string | number, relation?: string): Promise<object | null>;
}

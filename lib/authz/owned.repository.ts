import { BadRequestException, ForbiddenException } from '@nestjs/common';
import type { DeepPartial, FindOptionsOrder, FindOptionsWhere, ObjectLiteral, Repository } from 'typeorm';
import { EntityAccess, ownerFitsColumn } from './entity-access.js';

export interface OwnedFindOptions<T> {
  where?: FindOptionsWhere<T> | FindOptionsWhere<T>[];
  order?: FindOptionsOrder<T>;
  /** Brought within 1..`maxPageSize`; `NaN` answers 400. */
  take?: number;
  /** Rows to pass over: a whole number from 0 to 2^53 - 1, else 400. */
  skip?: number;
}

/**
 * A repository that only ever sees one owner's rows: every query is filtered by the owner column,
 * new rows get the owner from the verified token, and neither the owner nor the primary key can be
 * set through data passed in. An id of another owner's row behaves exactly like an id that does not exist.
 *
 * The TypeORM repository it wraps is an ECMAScript private field: not a property, so no cast,
 * `Object.values()`, spread or serialization hands a handler the unscoped repository.
 */
export class OwnedRepository<T extends ObjectLiteral> {
  readonly #repository: Repository<T>;
  private readonly primaryKey: string;
  /** An owner id the owner column cannot hold (an external principal's, on a UUID column) owns no row here. */
  private readonly ownsNothing: boolean;

  constructor(
    repository: Repository<T>,
    readonly ownerId: string,
    private readonly ownerColumn: string,
    private readonly maxPageSize: number,
  ) {
    this.#repository = repository;
    this.primaryKey = repository.metadata.primaryColumns[0].propertyName;
    this.ownsNothing = !ownerFitsColumn(repository as unknown as Repository<ObjectLiteral>, ownerColumn, ownerId);
  }

  async find(options: OwnedFindOptions<T> = {}): Promise<T[]> {
    const page = { take: this.take(options.take), skip: skipOf(options.skip) };
    if (this.ownsNothing) return [];
    return this.#repository.find({ where: this.scope(options.where), order: options.order, ...page });
  }

  count(where?: FindOptionsWhere<T>): Promise<number> {
    if (this.ownsNothing) return Promise.resolve(0);
    return this.#repository.count({ where: this.scope(where) });
  }

  findOne(id: unknown): Promise<T | null> {
    const where = this.byId(id);
    return this.ownsNothing ? Promise.resolve(null) : this.#repository.findOne({ where });
  }

  /** Inserts a row owned by the caller. `data` may not name the owner or the primary key. */
  async create(data: DeepPartial<T>, primaryKey?: string | number): Promise<T> {
    this.refuseProtected(data);
    if (this.ownsNothing) throw new ForbiddenException('Access denied');
    const entity = this.#repository.create({
      ...data,
      ...(primaryKey !== undefined ? { [this.primaryKey]: primaryKey } : {}),
      [this.ownerColumn]: this.ownerId,
    } as DeepPartial<T>);
    return this.#repository.save(entity);
  }

  /** Updates the caller's row; another owner's row is untouched and answers `null`. */
  async update(id: unknown, patch: DeepPartial<T>): Promise<T | null> {
    this.refuseProtected(patch);
    const where = this.byId(id);
    if (this.ownsNothing) return null;
    const result = await this.#repository.update(where, patch as never);
    return result.affected ? this.findOne(id) : null;
  }

  /** Deletes the caller's row; returns whether one was deleted. */
  async delete(id: unknown): Promise<boolean> {
    const where = this.byId(id);
    if (this.ownsNothing) return false;
    const result = await this.#repository.delete(where);
    return (result.affected ?? 0) > 0;
  }

  /** Any finite page size is brought within 1..maxPageSize; one that is not a number is a client error. */
  private take(take: number | undefined): number {
    if (take === undefined) return this.maxPageSize;
    if (typeof take !== 'number' || Number.isNaN(take)) throw new BadRequestException(['page size must be a number']);
    return Math.min(Math.max(1, Math.floor(take)), this.maxPageSize);
  }

  private byId(id: unknown): FindOptionsWhere<T> {
    const parsed = EntityAccess.parseId(this.#repository as unknown as Repository<ObjectLiteral>, id);
    return { [this.primaryKey]: parsed, [this.ownerColumn]: this.ownerId } as FindOptionsWhere<T>;
  }

  /** The owner condition is applied last, so a `where` naming another owner cannot override it. */
  private scope(where?: FindOptionsWhere<T> | FindOptionsWhere<T>[]): FindOptionsWhere<T> | FindOptionsWhere<T>[] {
    const owner = { [this.ownerColumn]: this.ownerId } as FindOptionsWhere<T>;
    if (Array.isArray(where)) return where.length ? where.map((clause) => ({ ...clause, ...owner })) : owner;
    return { ...where, ...owner };
  }

  private refuseProtected(data: object): void {
    for (const key of [this.ownerColumn, this.primaryKey]) {
      if (data !== null && typeof data === 'object' && Object.hasOwn(data, key)) {
        throw new BadRequestException([`property ${key} should not exist`]);
      }
    }
  }
}

/**
 * An offset SQL can take exactly. `?offset=1e21` passes `@IsInt()` (1e21 is an integer to JavaScript)
 * and TypeORM wrote it as `OFFSET 1e+21`: a database error, so a 500. Beyond 2^53 - 1 the number is
 * not the one the client sent anyway.
 */
function skipOf(skip: number | undefined): number | undefined {
  if (skip === undefined) return undefined;
  if (!Number.isSafeInteger(skip) || skip < 0) throw new BadRequestException(['page offset must be a whole number from 0 to 9007199254740991']);
  return skip;
}

import { BadRequestException } from '@nestjs/common';
import type { DeepPartial, FindOptionsOrder, FindOptionsWhere, ObjectLiteral, Repository } from 'typeorm';
import { EntityAccess } from './entity-access.js';

export interface OwnedFindOptions<T> {
  where?: FindOptionsWhere<T> | FindOptionsWhere<T>[];
  order?: FindOptionsOrder<T>;
  /** Capped at the module's `maxPageSize`. */
  take?: number;
  skip?: number;
}

/**
 * A repository that only ever sees one owner's rows: every query is filtered by the owner column,
 * new rows get the owner from the verified token, and neither the owner nor the primary key can be
 * set through data passed in. An id of another owner's row behaves exactly like an id that does not exist.
 */
export class OwnedRepository<T extends ObjectLiteral> {
  private readonly primaryKey: string;

  constructor(
    readonly repository: Repository<T>,
    readonly ownerId: string,
    private readonly ownerColumn: string,
    private readonly maxPageSize: number,
  ) {
    this.primaryKey = repository.metadata.primaryColumns[0].propertyName;
  }

  find(options: OwnedFindOptions<T> = {}): Promise<T[]> {
    const take = Math.min(Math.max(1, Math.floor(options.take ?? this.maxPageSize)), this.maxPageSize);
    return this.repository.find({ where: this.scope(options.where), order: options.order, take, skip: options.skip });
  }

  count(where?: FindOptionsWhere<T>): Promise<number> {
    return this.repository.count({ where: this.scope(where) });
  }

  findOne(id: unknown): Promise<T | null> {
    return this.repository.findOne({ where: this.byId(id) });
  }

  /** Inserts a row owned by the caller. `data` may not name the owner or the primary key. */
  async create(data: DeepPartial<T>, primaryKey?: string | number): Promise<T> {
    this.refuseProtected(data);
    const entity = this.repository.create({
      ...data,
      ...(primaryKey !== undefined ? { [this.primaryKey]: primaryKey } : {}),
      [this.ownerColumn]: this.ownerId,
    } as DeepPartial<T>);
    return this.repository.save(entity);
  }

  /** Updates the caller's row; another owner's row is untouched and answers `null`. */
  async update(id: unknown, patch: DeepPartial<T>): Promise<T | null> {
    this.refuseProtected(patch);
    const result = await this.repository.update(this.byId(id), patch as never);
    return result.affected ? this.findOne(id) : null;
  }

  /** Deletes the caller's row; returns whether one was deleted. */
  async delete(id: unknown): Promise<boolean> {
    const result = await this.repository.delete(this.byId(id));
    return (result.affected ?? 0) > 0;
  }

  private byId(id: unknown): FindOptionsWhere<T> {
    const parsed = EntityAccess.parseId(this.repository as unknown as Repository<ObjectLiteral>, id);
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

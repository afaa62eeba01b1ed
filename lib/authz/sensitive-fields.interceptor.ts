import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor, type OnApplicationBootstrap, StreamableFile } from '@nestjs/common';
import { map, type Observable } from 'rxjs';
import { DataSourceRef } from '../database/data-source.ref.js';
import { fieldNameKey, SensitiveFieldRegistry } from './sensitive-fields.js';

/**
 * Deepest nesting of a response the walk checks. Deeper ones are refused (a 500, logged), never sent
 * unchecked. Twice the validation pipe's default input depth: data that came in through the API fits.
 */
const MAX_DEPTH = 64;

/** Most distinct keys whose verdict is remembered; raw rows can bring any number of names. */
const MAX_CACHED_KEYS = 10_000;

const IN_PROGRESS = Symbol('in progress');

/** Values JSON never walks into, or that are not data: sent as they are. */
function isOpaque(value: object): boolean {
  return (
    value instanceof Date ||
    ArrayBuffer.isView(value) ||
    value instanceof ArrayBuffer ||
    value instanceof StreamableFile ||
    value instanceof Map ||
    value instanceof Set ||
    typeof (value as { pipe?: unknown }).pipe === 'function'
  );
}

/** A shallow copy that keeps the prototype, so a later serializer (class-transformer) still sees the class. */
function copyOf(value: object): Record<string, unknown> {
  return Object.assign(Object.create(Object.getPrototypeOf(value) as object | null) as object, value) as Record<string, unknown>;
}

class UncheckableResponseError extends Error {}

/**
 * Removes `@Sensitive()` properties from response bodies, by name, from every object at any depth:
 * class instances, spread and JSON copies, raw rows. Names are compared in one spelling
 * (`passwordHash` = `password_hash`), and the TypeORM column names of sensitive properties (read from
 * the DataSource at boot) count too, so a row under `@Column({ name: 'pw' })` loses `pw`. Objects with
 * a `toJSON()` are checked in the shape JSON would send. A response deeper than 64 levels or with a
 * cycle is refused with a 500 rather than sent unchecked.
 */
@Injectable()
export class SensitiveFieldsInterceptor implements NestInterceptor, OnApplicationBootstrap {
  private names = new Set<string>();
  private readonly columnNames = new Set<string>();
  private revision = -1;
  private readonly verdicts = new Map<string, boolean>();

  constructor(private readonly dataSources: DataSourceRef) {}

  /** Column names come from the app's DataSource, when it has one. */
  async onApplicationBootstrap(): Promise<void> {
    const dataSource = await this.dataSources.find();
    for (const entity of dataSource?.entityMetadatas ?? []) {
      if (typeof entity.target !== 'function') continue;
      const fields = SensitiveFieldRegistry.fieldsOf(entity.target);
      for (const column of entity.columns) {
        if (fields.includes(column.propertyName)) this.columnNames.add(fieldNameKey(column.databaseName));
      }
    }
    this.revision = -1;
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(
      map((body) => {
        try {
          return this.strip(body, 0, new Map());
        } catch (error) {
          if (!(error instanceof UncheckableResponseError)) throw error;
          const where = `${context.getClass().name}.${context.getHandler().name}`;
          throw new Error(`the response of ${where} ${error.message}: its @Sensitive() fields cannot be checked, so it is not sent.`);
        }
      }),
    );
  }

  private isSensitive(key: string): boolean {
    if (this.revision !== SensitiveFieldRegistry.revision) this.rebuild();
    let verdict = this.verdicts.get(key);
    if (verdict === undefined) {
      verdict = this.names.has(fieldNameKey(key));
      if (this.verdicts.size < MAX_CACHED_KEYS) this.verdicts.set(key, verdict);
    }
    return verdict;
  }

  /** Classes are declared when their files load, which may be after boot (a lazily imported module). */
  private rebuild(): void {
    const names = new Set(this.columnNames);
    for (const type of SensitiveFieldRegistry.classes()) {
      for (const field of SensitiveFieldRegistry.fieldsOf(type)) names.add(fieldNameKey(field));
    }
    this.names = names;
    this.verdicts.clear();
    this.revision = SensitiveFieldRegistry.revision;
  }

  /** A copy without sensitive fields where something had to go; the value itself where nothing did. */
  private strip(value: unknown, depth: number, done: Map<object, unknown>): unknown {
    if (value === null || typeof value !== 'object' || isOpaque(value)) return value;
    if (done.has(value)) {
      const result = done.get(value);
      if (result === IN_PROGRESS) throw new UncheckableResponseError('contains a cycle');
      return result;
    }
    if (depth > MAX_DEPTH) throw new UncheckableResponseError(`is nested more than ${MAX_DEPTH} levels deep`);
    done.set(value, IN_PROGRESS);
    let result: unknown = value;
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    // What JSON.stringify would send; a primitive (a Decimal's string) cannot hold a field.
    const json: unknown = typeof toJSON === 'function' ? toJSON.call(value, '') : value;
    if (json !== value) {
      if (json !== null && typeof json === 'object') result = this.strip(json, depth, done);
    } else if (Array.isArray(value)) {
      let copy: unknown[] | undefined;
      for (let i = 0; i < value.length; i++) {
        const stripped = this.strip(value[i], depth + 1, done);
        if (stripped !== value[i]) (copy ??= [...value])[i] = stripped;
      }
      result = copy ?? value;
    } else {
      let copy: Record<string, unknown> | undefined;
      for (const key of Object.keys(value)) {
        if (this.isSensitive(key)) {
          delete (copy ??= copyOf(value))[key];
          continue;
        }
        const child = (value as Record<string, unknown>)[key];
        const stripped = this.strip(child, depth + 1, done);
        if (stripped !== child) (copy ??= copyOf(value))[key] = stripped;
      }
      result = copy ?? value;
    }
    done.set(value, result);
    return result;
  }
}

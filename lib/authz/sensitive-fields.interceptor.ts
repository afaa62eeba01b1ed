import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import { map, type Observable } from 'rxjs';
import { SENSITIVE_FIELDS_KEY } from './authz.constants.js';

const MAX_DEPTH = 16;

/** Removes `@Sensitive()` properties from response bodies, at any depth. */
@Injectable()
export class SensitiveFieldsInterceptor implements NestInterceptor {
  private readonly fieldsByClass = new WeakMap<object, readonly string[]>();

  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(map((body) => this.strip(body, 0)));
  }

  private strip(value: unknown, depth: number): unknown {
    if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return value;
    if (Array.isArray(value)) return value.map((item) => this.strip(item, depth + 1));
    const prototype = Object.getPrototypeOf(value);
    // Only plain objects and class instances: streams, buffers and dates pass through untouched.
    if (prototype !== Object.prototype && prototype !== null && (value instanceof Date || ArrayBuffer.isView(value) || typeof (value as { pipe?: unknown }).pipe === 'function')) {
      return value;
    }
    const sensitive = prototype && prototype !== Object.prototype ? this.sensitiveFields(prototype.constructor) : [];
    let copy: Record<string, unknown> | undefined;
    for (const [key, child] of Object.entries(value)) {
      const stripped = sensitive.includes(key) ? undefined : this.strip(child, depth + 1);
      if (stripped !== child || sensitive.includes(key)) {
        copy ??= { ...(value as Record<string, unknown>) };
        if (sensitive.includes(key)) delete copy[key];
        else copy[key] = stripped;
      }
    }
    return copy ?? value;
  }

  private sensitiveFields(type: object): readonly string[] {
    let fields = this.fieldsByClass.get(type);
    if (!fields) {
      fields = (Reflect.getMetadata(SENSITIVE_FIELDS_KEY, type) as string[] | undefined) ?? [];
      this.fieldsByClass.set(type, fields);
    }
    return fields;
  }
}

import { type ArgumentMetadata, BadRequestException, Inject, Injectable, Optional, ValidationPipe, type ValidationPipeOptions } from '@nestjs/common';

/** Keys that reach `Object.prototype` through naive merging (prototype pollution). */
const POLLUTING_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const MAX_DEPTH = 32;

/**
 * Whitelisting validation: unknown or extra fields are rejected with 400 naming them (never
 * silently dropped, which would hide an attack such as `ownerId` in a body), values are
 * transformed to the DTO's types, and nested objects are validated too.
 */
export const ZERO_TRUST_VALIDATION_OPTIONS: Readonly<ValidationPipeOptions> = {
  whitelist: true,
  forbidNonWhitelisted: true,
  forbidUnknownValues: true,
  transform: true,
  validationError: { target: false, value: false },
  stopAtFirstError: false,
};

/** Optional extra ValidationPipe options for the global pipe (provide it in the module that imports ZeroTrustModule). */
export const VALIDATION_PIPE_OPTIONS = Symbol('zero-trust:validation-pipe-options');

/**
 * The global pipe. Subclass it and register the subclass with `enhancers.validationPipe`, or set that
 * option to `false` to keep a pipe of your own (then keep `whitelist` and `forbidNonWhitelisted` on).
 */
@Injectable()
export class ZeroTrustValidationPipe extends ValidationPipe {
  constructor(@Optional() @Inject(VALIDATION_PIPE_OPTIONS) options: ValidationPipeOptions = {}) {
    super({ ...ZERO_TRUST_VALIDATION_OPTIONS, ...options });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' || metadata.type === 'query') {
      const found = findPollutingKey(value, 0);
      if (found?.tooDeep) throw new BadRequestException([`${metadata.type} is nested more than ${MAX_DEPTH} levels deep`]);
      if (found) throw new BadRequestException([`property ${found.path} is not allowed`]);
    }
    return super.transform(value, metadata);
  }
}

/** The first forbidden key (or a nesting too deep to inspect), looking through nested objects and arrays. */
function findPollutingKey(value: unknown, depth: number, path = ''): { path: string; tooDeep?: true } | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  if (depth > MAX_DEPTH) return { path, tooDeep: true };
  for (const key of Object.keys(value)) {
    const keyPath = path ? `${path}.${key}` : key;
    if (POLLUTING_KEYS.has(key)) return { path: keyPath };
    const found = findPollutingKey((value as Record<string, unknown>)[key], depth + 1, keyPath);
    if (found) return found;
  }
  return undefined;
}

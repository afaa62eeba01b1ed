import { type ArgumentMetadata, BadRequestException, Injectable, ValidationPipe, type ValidationPipeOptions } from '@nestjs/common';

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

@Injectable()
export class ZeroTrustValidationPipe extends ValidationPipe {
  constructor(options: ValidationPipeOptions = {}) {
    super({ ...ZERO_TRUST_VALIDATION_OPTIONS, ...options });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' || metadata.type === 'query') {
      const path = findPollutingKey(value, 0);
      if (path !== undefined) throw new BadRequestException([`property ${path} is not allowed`]);
    }
    return super.transform(value, metadata);
  }
}

/** Returns the path of the first forbidden key, looking through nested objects and arrays. */
function findPollutingKey(value: unknown, depth: number, path = ''): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  if (depth > MAX_DEPTH) return path || '(root)';
  for (const key of Object.keys(value)) {
    const keyPath = path ? `${path}.${key}` : key;
    if (POLLUTING_KEYS.has(key)) return keyPath;
    const found = findPollutingKey((value as Record<string, unknown>)[key], depth + 1, keyPath);
    if (found) return found;
  }
  return undefined;
}

import { type ArgumentMetadata, BadRequestException, Inject, Injectable, Optional, ValidationPipe, type ValidationPipeOptions } from '@nestjs/common';
import type { ValidationError } from 'class-validator';
import { findInputProblem, shorten } from './request-input.check.js';
import { VALIDATION_CONFIG } from './validation.internal-constants.js';
import { type ValidationConfig, resolveValidationOptions } from './validation.options.js';

/** Longest message a 400 carries: messages name properties, and the names come from the client. */
const MAX_MESSAGE_LENGTH = 200;

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
 * The global pipe. Before class-validator runs, one bounded walk refuses what no DTO should see:
 * more values or deeper nesting than the `validation` limits, prototype-polluting keys, NUL bytes and
 * lone surrogates in strings. Its 400s list at most `validation.maxMessages` messages.
 *
 * Subclass it and register the subclass with `enhancers.validationPipe`, or set that option to `false`
 * to keep a pipe of your own (then keep `whitelist` and `forbidNonWhitelisted` on).
 */
@Injectable()
export class ZeroTrustValidationPipe extends ValidationPipe {
  protected readonly limits: ValidationConfig;

  constructor(
    @Optional() @Inject(VALIDATION_PIPE_OPTIONS) options: ValidationPipeOptions = {},
    // Optional so that `new ZeroTrustValidationPipe()` (a test, a subclass calling `super(options)`) gets the defaults.
    @Optional() @Inject(VALIDATION_CONFIG) limits?: ValidationConfig,
  ) {
    super({ ...ZERO_TRUST_VALIDATION_OPTIONS, ...options });
    this.limits = limits ?? resolveValidationOptions({});
  }

  // Not `async`: the base class's promise is returned as it is, not wrapped in another (issue 16); a
  // refusal is still a rejected promise.
  override transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    try {
      if (metadata.type === 'body' || metadata.type === 'query' || metadata.type === 'param') {
        const problem = findInputProblem(value, metadata.type, this.limits, metadata.data);
        if (problem) throw new BadRequestException([problem]);
      }
      return super.transform(value, metadata);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * The first `maxMessages` messages, each cut to a readable length, then one that counts the rest:
   * the client learns what to fix without the answer growing with what it sent.
   */
  protected override flattenValidationErrors(errors: ValidationError[]): string[] {
    const messages = super.flattenValidationErrors(errors);
    const shown = messages.slice(0, this.limits.maxMessages).map((message) => shorten(message, MAX_MESSAGE_LENGTH));
    const rest = messages.length - shown.length;
    return rest > 0 ? [...shown, `and ${rest} more error${rest === 1 ? '' : 's'}`] : shown;
  }
}

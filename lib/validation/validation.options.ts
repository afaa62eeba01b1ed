import { integer, object, section } from '../core/option-schema.js';

export interface ValidationOptions {
  /**
   * Bounds on the work one request can cause in the validation pipe, and on the 400 it gets back.
   * A body is at most `bodyLimit` bytes, but 100 kB of `{"k1":1,"k2":1,...}` is ~10 000 properties,
   * each of which class-validator would turn into an error object and a message.
   */
  validation?: {
    /**
     * Most values a body, a query or the route parameters may hold, counting every property and
     * every array element at every depth. More get 400 before any validator runs. Default 1000.
     */
    maxValues?: number;
    /** Deepest nesting of a body or query; deeper gets 400 before any validator runs. Default 32. */
    maxDepth?: number;
    /** Most messages a validation 400 lists; a last message counts the others. Default 20. */
    maxMessages?: number;
  };
}

export const validationOptionsSchema = object({
  validation: section({
    maxValues: integer({ min: 1, max: 1_000_000, default: 1000 }),
    maxDepth: integer({ min: 1, max: 1000, default: 32 }),
    maxMessages: integer({ min: 1, max: 10_000, default: 20 }),
  }),
});

export interface ValidationConfig {
  readonly maxValues: number;
  readonly maxDepth: number;
  readonly maxMessages: number;
}

export function resolveValidationOptions(raw: Record<string, unknown>): ValidationConfig {
  return validationOptionsSchema.pick(raw).validation;
}

import { Clock, SystemClock } from './clock.js';
import { custom, object, optional, string, type Resolved } from './option-schema.js';

/** Options every feature shares. */
export interface CoreOptions {
  /** Environment for production-only checks. Default `process.env.NODE_ENV`, else `development`. */
  environment?: string;
  /** The time every check reads. Default: the system clock. Tests pass a `ManualClock`. */
  clock?: Clock;
}

export const coreOptionsSchema = object({
  environment: optional(string()),
  clock: optional(custom<Clock>('an object with a now() method (a Clock)', (value) =>
    value !== null && typeof value === 'object' && typeof (value as Clock).now === 'function' ? (value as Clock) : undefined,
  )),
});

export interface CoreConfig {
  readonly environment: string;
  readonly production: boolean;
  readonly clock: Clock;
}

export function resolveCoreOptions(raw: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): CoreConfig {
  const given: Resolved<typeof coreOptionsSchema> = coreOptionsSchema.pick(raw);
  const environment = given.environment ?? env.NODE_ENV ?? 'development';
  return { environment, production: environment === 'production', clock: given.clock ?? new SystemClock() };
}

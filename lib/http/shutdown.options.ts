import { object, seconds, section } from '../core/option-schema.js';

export interface ShutdownOptions {
  shutdown?: {
    /**
     * At shutdown (SIGTERM with `app.enableShutdownHooks()`, or `app.close()`), the longest wait for
     * requests in flight, in seconds, after the server stopped accepting and before the stores and the
     * audit sinks close. Requests still running then have their connections cut. Default 10.
     */
    drainSeconds?: number;
  };
}

export const shutdownOptionsSchema = object({
  shutdown: section({
    drainSeconds: seconds({ min: 0, max: 3600, default: 10 }),
  }),
});

export interface ShutdownConfig {
  readonly drainMs: number;
}

export function resolveShutdownOptions(raw: Record<string, unknown>): ShutdownConfig {
  return { drainMs: shutdownOptionsSchema.pick(raw).shutdown.drainSeconds * 1000 };
}

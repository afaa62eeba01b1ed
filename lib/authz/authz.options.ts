import { integer, object, oneOf } from '../core/option-schema.js';

export interface AuthzOptions {
  /**
   * `strict` (default): every non-public route must declare a rule (`@OwnsResource`, `@Scopes`, `@Roles`,
   * `@Authenticated` or `@RequireMfa`) or the app refuses to start. `report`: such routes are listed as a
   * warning at boot and any signed-in user may call them (for adopting the module in an existing app).
   */
  authorization?: 'strict' | 'report';
  /** Largest page an `OwnedRepository.find()` returns. Default 100. */
  maxPageSize?: number;
}

export const authzOptionsSchema = object({
  authorization: oneOf(['strict', 'report'], { default: 'strict' }),
  maxPageSize: integer({ min: 1, max: 10_000, default: 100 }),
});

export interface AuthzConfig {
  readonly authorization: 'strict' | 'report';
  readonly maxPageSize: number;
}

export function resolveAuthzOptions(raw: Record<string, unknown>): AuthzConfig {
  return authzOptionsSchema.pick(raw);
}

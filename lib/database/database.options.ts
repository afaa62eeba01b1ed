import { boolean, custom, object, oneOf, optional } from '../core/option-schema.js';

export type InjectionToken = string | symbol | (abstract new (...args: never[]) => unknown);

export interface DatabaseOptions {
  /**
   * Run handlers that touch owned data in one transaction per request that sets `zero_trust.user_id`
   * (and `zero_trust.scopes`) for the database's row-level-security policies (see
   * LeastPrivilegeRoleMigration). Default false.
   */
  rowLevelSecurity?: boolean;
  /** Injection token of the TypeORM DataSource used by ownership checks and sessions. Default: TypeORM's `DataSource`. */
  dataSource?: InjectionToken;
  /**
   * At boot, inspect the database role the app connects as: refuse to start in production, warn
   * otherwise. Default `'check'` (only when a PostgreSQL DataSource is present).
   */
  databasePrivileges?: 'check' | 'off';
}

export const databaseOptionsSchema = object({
  rowLevelSecurity: boolean({ default: false }),
  dataSource: optional(
    custom<InjectionToken>('an injection token (a class, string or symbol)', (value) =>
      typeof value === 'string' || typeof value === 'symbol' || typeof value === 'function' ? (value as InjectionToken) : undefined,
    ),
  ),
  databasePrivileges: oneOf(['check', 'off'], { default: 'check' }),
});

export interface DatabaseConfig {
  readonly rowLevelSecurity: boolean;
  readonly dataSource?: InjectionToken;
  readonly databasePrivileges: 'check' | 'off';
}

export function resolveDatabaseOptions(raw: Record<string, unknown>): DatabaseConfig {
  return databaseOptionsSchema.pick(raw);
}

import { custom, defaulted, isPlainObject, object, type OptionSchema, oneOf, optional } from '../core/option-schema.js';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';
import { MIN_IDENTITY_KEY_BYTES } from './rls-identity.js';

/** `false`, or the object; `true` is refused with the fix, since RLS cannot work without its key. */
function disableableWithoutTrue<T>(schema: OptionSchema<T>): OptionSchema<T | false> {
  return custom(`false or ${schema.expected}`, (value, path) => {
    if (value === false) return false;
    if (value === true) {
      throw new ZeroTrustConfigurationError(
        `${path}: true is not enough: give { identityKey } (the key LeastPrivilegeRoleMigration stored; generate one with openssl rand -base64 48).`,
      );
    }
    return isPlainObject(value) ? schema.parse(value, path) : undefined;
  });
}

export type InjectionToken = string | symbol | (abstract new (...args: never[]) => unknown);

export interface DatabaseOptions {
  /**
   * Run handlers that touch owned data in one transaction per request that carries the caller's
   * identity, signed with `identityKey`, for the database's row-level-security policies (see
   * LeastPrivilegeRoleMigration, which stores the same key where only the owner role can read it).
   * `identityKey`: at least 32 bytes; generate with `openssl rand -base64 48`. Default: off.
   */
  rowLevelSecurity?: false | { identityKey: string };
  /** Injection token of the TypeORM DataSource used by ownership checks and sessions. Default: TypeORM's `DataSource`. */
  dataSource?: InjectionToken;
  /**
   * At boot, inspect the database role the app connects as: refuse to start in production, warn
   * otherwise. Default `'check'` (only when a PostgreSQL DataSource is present).
   */
  databasePrivileges?: 'check' | 'off';
  /**
   * At boot, PostgreSQL and Redis connections to any host but loopback must use TLS that verifies the
   * server (`sslmode=verify-full`, `rediss://`): refused in production, warned otherwise. Default `'check'`.
   */
  transportSecurity?: 'check' | 'off';
}

export const databaseOptionsSchema = object({
  rowLevelSecurity: defaulted(
    disableableWithoutTrue(
      object({
        identityKey: custom<string>(`a secret of at least ${MIN_IDENTITY_KEY_BYTES} bytes (generate one with: openssl rand -base64 48)`, (value) =>
          typeof value === 'string' && Buffer.byteLength(value, 'utf8') >= MIN_IDENTITY_KEY_BYTES ? value : undefined,
        ),
      }),
    ),
    false,
  ),
  dataSource: optional(
    custom<InjectionToken>('an injection token (a class, string or symbol)', (value) =>
      typeof value === 'string' || typeof value === 'symbol' || typeof value === 'function' ? (value as InjectionToken) : undefined,
    ),
  ),
  databasePrivileges: oneOf(['check', 'off'], { default: 'check' }),
  transportSecurity: oneOf(['check', 'off'], { default: 'check' }),
});

export interface DatabaseConfig {
  readonly rowLevelSecurity: boolean;
  /** The key that signs the identity a transaction carries (see RlsIdentity). */
  readonly identityKey?: Buffer;
  readonly dataSource?: InjectionToken;
  readonly databasePrivileges: 'check' | 'off';
  readonly transportSecurity: 'check' | 'off';
}

export function resolveDatabaseOptions(raw: Record<string, unknown>): DatabaseConfig {
  const given = databaseOptionsSchema.pick(raw);
  const rls = given.rowLevelSecurity;
  return {
    rowLevelSecurity: rls !== false,
    identityKey: rls === false ? undefined : Buffer.from(rls.identityKey, 'utf8'),
    dataSource: given.dataSource,
    databasePrivileges: given.databasePrivileges,
    transportSecurity: given.transportSecurity,
  };
}

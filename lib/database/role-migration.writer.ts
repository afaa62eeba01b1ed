import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';
import { ident } from './sql-identifiers.js';

export interface RoleMigrationSpec {
  ownerRole: string;
  runtimeRole: string;
  /** Entity names (class names) to protect with row-level security, optionally `Name:ownerProperty:adminScope`. */
  rowLevelSecurity?: string[];
  /** Entity names that are append-only (INSERT only). */
  appendOnly?: string[];
  runtimePasswordEnv?: string;
  /** Milliseconds since the epoch, for the class name TypeORM orders by. Default now. */
  timestamp?: number;
}

/**
 * The source of a migration file that applies `LeastPrivilegeRoleMigration`. Tables are not listed in
 * it: the migration reads them from the DataSource's entities when it runs, so the file stays right as
 * the model grows (new tables need a new run only to be protected by row-level security).
 */
export function renderRoleMigration(spec: RoleMigrationSpec): { fileName: string; className: string; source: string } {
  ident(spec.ownerRole, 'ownerRole');
  ident(spec.runtimeRole, 'runtimeRole');
  const entityName = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
  const rls = (spec.rowLevelSecurity ?? []).map((entry) => {
    // Scopes contain colons themselves (`notes:admin`): everything after the second colon is the scope.
    const [entity, ownerProperty, ...scopeParts] = entry.split(':');
    const adminScope = scopeParts.join(':');
    if (!entityName.test(entity) || (ownerProperty && !entityName.test(ownerProperty)) || (adminScope && !/^[\w:.-]+$/.test(adminScope))) {
      throw new ZeroTrustConfigurationError(`rowLevelSecurity entry "${entry}" must be Entity[:ownerProperty[:adminScope]].`);
    }
    return { entity, ...(ownerProperty ? { ownerProperty } : {}), ...(adminScope ? { adminScope } : {}) };
  });
  for (const name of spec.appendOnly ?? []) {
    if (!entityName.test(name)) throw new ZeroTrustConfigurationError(`appendOnly entry "${name}" must be an entity name.`);
  }
  const timestamp = spec.timestamp ?? Date.now();
  const className = `LeastPrivilege${timestamp}`;
  const options = {
    ownerRole: spec.ownerRole,
    runtimeRole: spec.runtimeRole,
    runtimePasswordEnv: spec.runtimePasswordEnv ?? 'DATABASE_RUNTIME_PASSWORD',
    ...(spec.appendOnly?.length ? { appendOnly: spec.appendOnly } : {}),
    ...(rls.length ? { rowLevelSecurity: rls } : {}),
  };
  const body = JSON.stringify(options, null, 2).replace(/"([A-Za-z]+)":/g, '$1:').replace(/"/g, "'");
  const source = `import { LeastPrivilegeRoleMigration } from 'nestjs-zero-trust';

/**
 * Least privilege for the application's database role (written by nestjs-zero-trust).
 * The owner role owns the schema and tables; the runtime role gets SELECT/INSERT/UPDATE/DELETE on the
 * entity tables and nothing else. Run migrations with an owner/superuser connection and serve with
 * the runtime role; its password comes from the environment variable named below.
 */
export class ${className} extends LeastPrivilegeRoleMigration(${body}) {}
`;
  return { fileName: `${timestamp}-least-privilege.migration.ts`, className, source };
}

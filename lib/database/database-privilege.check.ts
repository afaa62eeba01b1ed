import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { CORE_CONFIG } from '../core/core.internal-constants.js';
import type { CoreConfig } from '../core/core.options.js';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';
import { DataSourceRef } from './data-source.ref.js';
import { DATABASE_CONFIG } from './database.internal-constants.js';
import type { DatabaseConfig } from './database.options.js';

interface RoleFacts {
  name: string;
  rolsuper: boolean;
  rolbypassrls: boolean;
  rolcreaterole: boolean;
  rolcreatedb: boolean;
  rolreplication: boolean;
  schema_create: boolean;
  owned_tables: string[] | null;
  owner_memberships: string[] | null;
  powerful_roles: string[] | null;
}

/** Roles whose members can read or write server files, run programs, or read/write every table. */
const POWERFUL_ROLES = ['pg_read_server_files', 'pg_write_server_files', 'pg_execute_server_program', 'pg_read_all_data', 'pg_write_all_data'];

/**
 * "Assume breach": if an attacker runs SQL through the app, the app's own database role decides the
 * damage. At boot this inspects that role and names every excess privilege with its fix; in
 * production (`NODE_ENV=production`) the app refuses to start with any of them.
 */
@Injectable()
export class DatabasePrivilegeCheck implements OnApplicationBootstrap {
  private readonly logger = new Logger('ZeroTrustModule');

  constructor(
    private readonly dataSources: DataSourceRef,
    @Inject(DATABASE_CONFIG) private readonly config: DatabaseConfig,
    @Inject(CORE_CONFIG) private readonly core: CoreConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.databasePrivileges === 'off') return;
    const dataSource = await this.dataSources.find();
    if (!dataSource || dataSource.options.type !== 'postgres') return;
    const tables = dataSource.entityMetadatas.map((metadata) => metadata.tableName);
    const [facts] = (await dataSource.query(
      `SELECT r.rolname AS name, r.rolsuper, r.rolbypassrls, r.rolcreaterole, r.rolcreatedb, r.rolreplication,
              has_schema_privilege(current_user, current_schema(), 'CREATE') AS schema_create,
              ARRAY(SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                     WHERE c.relowner = r.oid AND c.relkind IN ('r', 'p') AND n.nspname = current_schema() ORDER BY 1) AS owned_tables,
              ARRAY(SELECT DISTINCT pg_get_userbyid(c.relowner)::text FROM pg_class c
                     WHERE c.relname = ANY($1) AND c.relowner <> r.oid AND pg_has_role(current_user, c.relowner, 'MEMBER') ORDER BY 1) AS owner_memberships,
              ARRAY(SELECT b.rolname::text FROM pg_roles b WHERE b.rolname = ANY($2) AND pg_has_role(current_user, b.oid, 'MEMBER') ORDER BY 1) AS powerful_roles
         FROM pg_roles r WHERE r.rolname = current_user`,
      [tables, POWERFUL_ROLES],
    )) as RoleFacts[];
    const excess = DatabasePrivilegeCheck.excessPrivileges(facts);
    if (excess.length === 0) return;
    const message =
      `the database role "${facts.name}" the app connects as has privileges it does not need:\n` +
      excess.map((line) => `  - ${line}`).join('\n') +
      '\nConnect with a runtime role made by LeastPrivilegeRoleMigration (or set databasePrivileges: "off" to skip this check).';
    if (this.core.production) throw new ZeroTrustConfigurationError(message);
    this.logger.warn(`${message}\nIn production (NODE_ENV=production) the app refuses to start like this.`);
  }

  static excessPrivileges(facts: RoleFacts): string[] {
    const role = `"${facts.name}"`;
    const excess: string[] = [];
    if (facts.rolsuper) excess.push(`SUPERUSER: it bypasses every permission and row-level security. Connect as a dedicated runtime role.`);
    if (facts.rolbypassrls) excess.push(`BYPASSRLS: row-level security does not apply. Fix: ALTER ROLE ${role} NOBYPASSRLS;`);
    if (facts.rolcreaterole) excess.push(`CREATEROLE: it can create roles. Fix: ALTER ROLE ${role} NOCREATEROLE;`);
    if (facts.rolcreatedb) excess.push(`CREATEDB: it can create databases. Fix: ALTER ROLE ${role} NOCREATEDB;`);
    if (facts.rolreplication) excess.push(`REPLICATION: it can stream the whole cluster. Fix: ALTER ROLE ${role} NOREPLICATION;`);
    if (facts.schema_create) excess.push(`CREATE on the schema: it can create tables and functions. Fix: REVOKE CREATE ON SCHEMA <schema> FROM ${role}, PUBLIC;`);
    if (facts.owned_tables?.length) {
      excess.push(`owns tables (${facts.owned_tables.join(', ')}): it can drop or alter them and disable their row-level security. Fix: ALTER TABLE … OWNER TO <owner role>;`);
    }
    if (facts.owner_memberships?.length) {
      excess.push(`member of the tables' owner role (${facts.owner_memberships.join(', ')}): it can act as the owner. Fix: REVOKE <owner role> FROM ${role};`);
    }
    if (facts.powerful_roles?.length) {
      excess.push(`member of ${facts.powerful_roles.join(', ')}: server files, programs or every table. Fix: REVOKE ${facts.powerful_roles.join(', ')} FROM ${role};`);
    }
    return excess;
  }
}

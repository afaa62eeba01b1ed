import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { CORE_CONFIG } from '../core/core.internal-constants.js';
import type { CoreConfig } from '../core/core.options.js';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';
import { DataSourceRef } from './data-source.ref.js';
import { DATABASE_CONFIG } from './database.internal-constants.js';
import type { DatabaseConfig } from './database.options.js';

export interface RoleFacts {
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
  /** Roles it is a member of (directly or through others, with or without INHERIT) that carry a dangerous attribute. */
  attribute_roles?: string[] | null;
  /** Objects other than tables it owns: functions, sequences, views, types, schemas, large objects. */
  owned_objects?: string[] | null;
  /** Table rights the app never needs: TRUNCATE, REFERENCES, TRIGGER. */
  extra_table_rights?: string[] | null;
  /** Rights beyond INSERT (and SELECT) on the append-only audit table. */
  audit_rights?: string[] | null;
  temp_on_database?: boolean;
  large_objects?: boolean;
}

/**
 * Roles whose members can read or write server files, run programs, read/write every table, or act on
 * other sessions: any predefined `pg_*` role is more than an app needs.
 */
const POWERFUL_ROLES = ['pg_read_server_files', 'pg_write_server_files', 'pg_execute_server_program', 'pg_read_all_data', 'pg_write_all_data'];

const FACTS_SQL = `
  SELECT r.rolname AS name, r.rolsuper, r.rolbypassrls, r.rolcreaterole, r.rolcreatedb, r.rolreplication,
    has_schema_privilege(current_user, current_schema(), 'CREATE') AS schema_create,
    ARRAY(SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE c.relowner = r.oid AND c.relkind IN ('r', 'p') AND n.nspname = current_schema() ORDER BY 1) AS owned_tables,
    ARRAY(SELECT DISTINCT pg_get_userbyid(c.relowner)::text FROM pg_class c
           WHERE c.relname = ANY($1) AND c.relowner <> r.oid AND pg_has_role(current_user, c.relowner, 'MEMBER') ORDER BY 1) AS owner_memberships,
    ARRAY(SELECT b.rolname::text FROM pg_roles b
           WHERE (b.rolname = ANY($2) OR b.rolname LIKE 'pg\\_%') AND b.oid <> r.oid AND pg_has_role(current_user, b.oid, 'MEMBER') ORDER BY 1) AS powerful_roles,
    -- MEMBER: direct or through other roles, whatever INHERIT says (SET ROLE reaches them all).
    ARRAY(SELECT b.rolname::text FROM pg_roles b
           WHERE b.oid <> r.oid AND (b.rolsuper OR b.rolbypassrls OR b.rolcreaterole OR b.rolcreatedb OR b.rolreplication)
             AND pg_has_role(current_user, b.oid, 'MEMBER') ORDER BY 1) AS attribute_roles,
    ARRAY(
      SELECT 'function ' || p.oid::regprocedure::text FROM pg_proc p WHERE p.proowner = r.oid
      UNION ALL SELECT 'sequence ' || c.relname FROM pg_class c WHERE c.relowner = r.oid AND c.relkind = 'S'
      UNION ALL SELECT 'view ' || c.relname FROM pg_class c WHERE c.relowner = r.oid AND c.relkind IN ('v', 'm')
      UNION ALL SELECT 'type ' || t.typname FROM pg_type t WHERE t.typowner = r.oid AND t.typrelid = 0 AND t.typelem = 0
      UNION ALL SELECT 'schema ' || n.nspname FROM pg_namespace n WHERE n.nspowner = r.oid
      UNION ALL SELECT 'large object ' || l.oid::text FROM pg_largeobject_metadata l WHERE l.lomowner = r.oid
      ORDER BY 1) AS owned_objects,
    ARRAY(SELECT c.relname || ': ' || priv FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace,
             unnest(ARRAY['TRUNCATE', 'REFERENCES', 'TRIGGER']) AS priv
           WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND has_table_privilege(current_user, c.oid, priv) ORDER BY 1) AS extra_table_rights,
    ARRAY(SELECT priv FROM unnest(ARRAY['UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) AS priv
           WHERE to_regclass('zt_audit_log') IS NOT NULL AND has_table_privilege(current_user, 'zt_audit_log', priv)) AS audit_rights,
    has_database_privilege(current_user, current_database(), 'TEMPORARY') AS temp_on_database,
    has_function_privilege(current_user, 'lo_create(oid)', 'EXECUTE') AS large_objects
  FROM pg_roles r WHERE r.rolname = current_user`;

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
    const [facts] = (await dataSource.query(FACTS_SQL, [tables, POWERFUL_ROLES])) as RoleFacts[];
    await this.checkDrift(dataSource, tables);
    const excess = DatabasePrivilegeCheck.excessPrivileges(facts);
    if (excess.length === 0) return;
    const message =
      `the database role "${facts.name}" the app connects as has privileges it does not need:\n` +
      excess.map((line) => `  - ${line}`).join('\n') +
      '\nConnect with a runtime role made by LeastPrivilegeRoleMigration (or set databasePrivileges: "off" to skip this check).';
    if (this.core.production) throw new ZeroTrustConfigurationError(message);
    this.logger.warn(`${message}\nIn production (NODE_ENV=production) the app refuses to start like this.`);
  }

  /**
   * Row-level security on in the database but off in the module: every owned list comes back empty, own
   * records answer 404 and creates 403, with no hint. Said at boot instead (refused in production).
   */
  private async checkDrift(dataSource: { query(sql: string, parameters?: unknown[]): Promise<unknown> }, tables: string[]): Promise<void> {
    if (this.config.rowLevelSecurity) return;
    const rows = (await dataSource.query(
      `SELECT c.relname::text AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = current_schema() AND c.relname = ANY($1) AND c.relrowsecurity
          AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = 'zero_trust_owner') ORDER BY 1`,
      [tables],
    )) as Array<{ name: string }>;
    if (rows.length === 0) return;
    const message =
      `row-level security is on in the database (${rows.map((row) => row.name).join(', ')}) but off in ZeroTrustModule: ` +
      'every owned query would see no rows. Set rowLevelSecurity: { identityKey } (the key the role migration stored).';
    if (this.core.production) throw new ZeroTrustConfigurationError(message);
    this.logger.warn(message);
  }

  static excessPrivileges(facts: RoleFacts): string[] {
    const role = `"${facts.name}"`;
    const excess: string[] = [];
    // A superuser is the wrong role altogether: fixing its attributes one by one is not the answer.
    if (facts.rolsuper) {
      return [
        'SUPERUSER: it bypasses every permission and row-level security. Serve as the runtime role LeastPrivilegeRoleMigration ' +
          'created (DATABASE_URL with that role), and keep the superuser for migrations only.',
      ];
    }
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
      excess.push(`member of ${facts.powerful_roles.join(', ')}: server files, programs, every table or other sessions. Fix: REVOKE ${facts.powerful_roles.join(', ')} FROM ${role};`);
    }
    if (facts.attribute_roles?.length) {
      excess.push(
        `member of ${facts.attribute_roles.join(', ')} (directly or through other roles), which carry SUPERUSER, BYPASSRLS, CREATEROLE, CREATEDB ` +
          `or REPLICATION: SET ROLE reaches them even without INHERIT. Fix: REVOKE ${facts.attribute_roles.join(', ')} FROM ${role};`,
      );
    }
    if (facts.owned_objects?.length) {
      excess.push(`owns ${facts.owned_objects.join(', ')}: an owner can redefine or drop them. Fix: ALTER … OWNER TO <owner role>;`);
    }
    if (facts.extra_table_rights?.length) {
      excess.push(`has rights the app never needs (${facts.extra_table_rights.join(', ')}). Fix: REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA <schema> FROM ${role};`);
    }
    if (facts.audit_rights?.length) {
      excess.push(`can ${facts.audit_rights.join(', ')} the append-only audit table zt_audit_log. Fix: REVOKE ${facts.audit_rights.join(', ')} ON zt_audit_log FROM ${role};`);
    }
    if (facts.temp_on_database) excess.push(`TEMPORARY on the database: it can create temporary tables and functions. Fix: REVOKE TEMPORARY ON DATABASE <database> FROM PUBLIC, ${role};`);
    if (facts.large_objects) {
      excess.push(`can create large objects (storage outside every table and grant). Fix: REVOKE EXECUTE ON FUNCTION lo_create(oid), lo_creat(integer), lo_import(text), lo_import(text, oid), lo_from_bytea(oid, bytea) FROM PUBLIC;`);
    }
    return excess;
  }
}

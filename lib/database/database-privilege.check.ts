import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { CORE_CONFIG } from '../core/core.internal-constants.js';
import type { CoreConfig } from '../core/core.options.js';
import { refuseBoot } from './boot-refusal.js';
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
  /** Other databases of the server it may connect to, each with the rights it has there (`db: CONNECT, TEMPORARY`). */
  other_databases?: string[] | null;
}

/** What the live database says about row-level security and grants, compared with the module's configuration. */
export interface DriftFacts {
  /** Entity tables with the module's policy installed (RLS enabled). */
  policed: string[];
  /** Tables with RLS enabled but not forced: the owner, and any role that owns them, bypass it. */
  unforced: string[];
  /** Tables with RLS enabled and no policy at all: every query sees no rows. */
  without_policy: string[];
  /** The module's policy whose USING or WITH CHECK no longer asks `zt_current_subject()`. */
  changed_policies: string[];
  /** Policies other than the module's on its tables: permissive ones are ORed with it and open rows. */
  foreign_policies: string[];
  /** Tables outside the app's entities and the module's own tables the role may read or write. */
  stray_grants: string[];
  /** Entity tables the role may not read: requests touching them answer 403. */
  missing_grants: string[];
}

/**
 * Roles whose members can read or write server files, run programs, read/write every table, or act on
 * other sessions: any predefined `pg_*` role is more than an app needs.
 */
const POWERFUL_ROLES = ['pg_read_server_files', 'pg_write_server_files', 'pg_execute_server_program', 'pg_read_all_data', 'pg_write_all_data'];

const POLICY = 'zero_trust_owner';

/**
 * Row-level security and grants as the database has them, for the app's entity tables. The module's
 * own tables (`zt_*`) are made by its migrations, not by entities, so they never count as strays.
 */
const DRIFT_SQL = `
  WITH t AS (
    SELECT c.oid, c.relname::text AS name, c.relrowsecurity, c.relforcerowsecurity, c.relname = ANY($1) AS entity
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p'))
  SELECT
    ARRAY(SELECT name FROM t WHERE entity AND relrowsecurity
           AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = t.oid AND p.polname = $2) ORDER BY 1) AS policed,
    ARRAY(SELECT name FROM t WHERE entity AND relrowsecurity AND NOT relforcerowsecurity ORDER BY 1) AS unforced,
    ARRAY(SELECT name FROM t WHERE entity AND relrowsecurity AND NOT EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = t.oid) ORDER BY 1) AS without_policy,
    ARRAY(SELECT t.name FROM t JOIN pg_policy p ON p.polrelid = t.oid AND p.polname = $2
           WHERE t.entity AND (coalesce(pg_get_expr(p.polqual, p.polrelid), '') NOT LIKE '%zt_current_subject()%'
                               OR coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '') NOT LIKE '%zt_current_subject()%'
                               OR p.polcmd <> '*' OR NOT p.polpermissive) ORDER BY 1) AS changed_policies,
    ARRAY(SELECT t.name || ': ' || p.polname FROM t JOIN pg_policy p ON p.polrelid = t.oid
           WHERE t.entity AND p.polname <> $2 AND p.polpermissive
             AND EXISTS (SELECT 1 FROM pg_policy m WHERE m.polrelid = t.oid AND m.polname = $2) ORDER BY 1) AS foreign_policies,
    ARRAY(SELECT name FROM t WHERE NOT entity AND name NOT LIKE 'zt\\_%'
           -- Column grants count too: has_any_column_privilege is true for a table-level or any column-level grant.
           AND (has_any_column_privilege(current_user, t.oid, 'SELECT') OR has_any_column_privilege(current_user, t.oid, 'INSERT')
                OR has_any_column_privilege(current_user, t.oid, 'UPDATE') OR has_table_privilege(current_user, t.oid, 'DELETE')) ORDER BY 1) AS stray_grants,
    ARRAY(SELECT name FROM t WHERE entity AND NOT has_any_column_privilege(current_user, t.oid, 'SELECT') ORDER BY 1) AS missing_grants`;

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
    has_function_privilege(current_user, 'lo_create(oid)', 'EXECUTE') AS large_objects,
    -- A role that may connect elsewhere can read what PUBLIC may read there and make temporary objects.
    ARRAY(SELECT d.datname || ': ' || array_to_string(ARRAY(SELECT p FROM unnest(ARRAY['CONNECT', 'TEMPORARY']) AS p
                   WHERE has_database_privilege(current_user, d.oid, p)), ', ')
           FROM pg_database d WHERE d.datname <> current_database() AND d.datallowconn
             AND has_database_privilege(current_user, d.oid, 'CONNECT') ORDER BY 1) AS other_databases
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
    // An embedded PGlite (a `driver` of its own) is one session in this process: nothing can connect to its other databases.
    if ((dataSource.options as { driver?: unknown }).driver !== undefined) facts.other_databases = [];
    const excess = DatabasePrivilegeCheck.excessPrivileges(facts);
    if (excess.length > 0) {
      const message =
        `the database role "${facts.name}" the app connects as has privileges it does not need:\n` +
        excess.map((line) => `  - ${line}`).join('\n') +
        '\nConnect with a runtime role made by LeastPrivilegeRoleMigration (or set databasePrivileges: "off" to skip this check).';
      if (this.core.production) refuseBoot(message);
      else this.logger.warn(`${message}\nIn production (NODE_ENV=production) the app refuses to start like this.`);
    }
    await this.checkDrift(dataSource, tables, facts.rolsuper);
  }

  /**
   * Drift between the database and the module: row-level security on in the database but off in the
   * module (every owned list comes back empty, own records 404), or on in the module but installed on
   * no table (the second wall is missing), a table with RLS and no policy, the module's policy changed
   * or joined by another permissive one (ORed: it opens rows), grants on tables the app does not
   * declare. Said at boot, refused in production; missing grants (fail closed, 403) are only warned.
   */
  private async checkDrift(dataSource: { query(sql: string, parameters?: unknown[]): Promise<unknown> }, tables: string[], superuser: boolean): Promise<void> {
    const [facts] = (await dataSource.query(DRIFT_SQL, [tables, POLICY])) as DriftFacts[];
    // A superuser may touch every table: that is said once, above, not table by table.
    if (superuser) facts.stray_grants = facts.missing_grants = [];
    const { refuse, warn } = DatabasePrivilegeCheck.driftProblems(facts, this.config.rowLevelSecurity);
    if (warn.length > 0) this.logger.warn(`database drift:\n${warn.map((line) => `  - ${line}`).join('\n')}`);
    if (refuse.length === 0) return;
    const message = `the database differs from what the app declares:\n${refuse.map((line) => `  - ${line}`).join('\n')}`;
    if (this.core.production) refuseBoot(message);
    else this.logger.warn(`${message}\nIn production (NODE_ENV=production) the app refuses to start like this.`);
  }

  static driftProblems(facts: DriftFacts, moduleRls: boolean): { refuse: string[]; warn: string[] } {
    const refuse: string[] = [];
    if (!moduleRls && facts.policed.length > 0) {
      refuse.push(
        `row-level security is on in the database (${facts.policed.join(', ')}) but off in ZeroTrustModule: ` +
          'every owned query would see no rows. Set rowLevelSecurity: { identityKey } (the key the role migration stored).',
      );
    }
    if (moduleRls && facts.policed.length === 0) {
      refuse.push(
        'row-level security is on in ZeroTrustModule but no table carries its policy: the second wall is missing. ' +
          'Run the least-privilege migration with rowLevelSecurity: [{ entity }] (npm run migrate).',
      );
    }
    if (facts.unforced.length) {
      refuse.push(`row-level security is not forced on ${facts.unforced.join(', ')}: its owner bypasses it. Fix: ALTER TABLE … FORCE ROW LEVEL SECURITY;`);
    }
    if (facts.without_policy.length) {
      refuse.push(`row-level security is on for ${facts.without_policy.join(', ')} with no policy: every query sees no rows. Fix: run the least-privilege migration, or ALTER TABLE … DISABLE ROW LEVEL SECURITY;`);
    }
    if (facts.changed_policies.length) {
      refuse.push(
        `policy ${POLICY} on ${facts.changed_policies.join(', ')} no longer compares the owner with zt_current_subject(): ` +
          'run the least-privilege migration again (it recreates the policy).',
      );
    }
    if (facts.foreign_policies.length) {
      refuse.push(
        `other policies on the module's tables (${facts.foreign_policies.join(', ')}): permissive policies are ORed with ${POLICY} and open rows. ` +
          'Fix: DROP POLICY … ON …; (or make it AS RESTRICTIVE).',
      );
    }
    if (facts.stray_grants.length) {
      refuse.push(
        `the role may read or write tables the app does not declare (${facts.stray_grants.join(', ')}). ` +
          'Fix: REVOKE ALL ON TABLE … FROM <runtime role>; (or add the entity to the DataSource).',
      );
    }
    const warn = facts.missing_grants.length
      ? [
          `the role may not read ${facts.missing_grants.join(', ')}: requests touching them answer 403. A table created by a migration ` +
            'run as another role than the owner gets no default grants: run migrations with runMigrationsAsOwner (npm run migrate), or GRANT … TO <runtime role>.',
        ]
      : [];
    return { refuse, warn };
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
    if (facts.other_databases?.length) {
      const names = facts.other_databases.map((entry) => `"${entry.slice(0, entry.lastIndexOf(':'))}"`).join(', ');
      excess.push(
        `may connect to other databases of the server (${facts.other_databases.join('; ')}): it can read what PUBLIC may read there and create temporary objects. ` +
          `Fix: REVOKE CONNECT, TEMPORARY ON DATABASE ${names} FROM PUBLIC, ${role}; (run as their owner or a superuser)`,
      );
    }
    if (facts.large_objects) {
      excess.push(`can create large objects (storage outside every table and grant). Fix: REVOKE EXECUTE ON FUNCTION lo_create(oid), lo_creat(integer), lo_import(text), lo_import(text, oid), lo_from_bytea(oid, bytea) FROM PUBLIC;`);
    }
    return excess;
  }
}

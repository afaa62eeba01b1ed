import type { DataSource, MigrationInterface, QueryRunner } from 'typeorm';
import type { EntityClass } from './entity-class.js';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';
import { MIN_IDENTITY_KEY_BYTES, RLS_IDENTITY_SETTING, TRANSACTION_START } from './rls-identity.js';
import { scramSha256Verifier } from './scram-verifier.js';
import { ident, literal } from './sql-identifiers.js';

/** Tables of the module itself (sessions, second factors), granted to the runtime role whenever they exist. */
export const ZERO_TRUST_TABLES = ['zt_sessions', 'zt_refresh_tokens', 'zt_mfa_factors', 'zt_recovery_codes', 'zt_api_keys', 'zt_machine_clients', 'zt_account_tokens', 'zt_passkeys'] as const;

/** The owner-only table holding the identity key, and the owner's functions the policies call. */
const IDENTITY_KEY_TABLE = 'zt_rls_identity_key';

export interface RowLevelSecurityTable {
  entity: EntityClass | string;
  /** Property holding the owner's id. Default `ownerId`. */
  ownerProperty?: string;
  /** A token scope that may see every row (e.g. `notes:admin`), matching `@OwnsResource({ adminScope })`. */
  adminScope?: string;
}

export interface LeastPrivilegeOptions {
  /** NOLOGIN role that owns the schema and the tables. */
  ownerRole: string;
  /** LOGIN role the application serves with: DML on its tables and nothing else. */
  runtimeRole: string;
  /** Environment variable holding the runtime role's password. Default `DATABASE_RUNTIME_PASSWORD`. */
  runtimePasswordEnv?: string;
  /**
   * Create the runtime role without a password when the variable is unset (it then cannot log in with a
   * password). Only for a single-connection database that switches with SET ROLE, such as PGlite. A
   * function is asked when the migration runs.
   */
  allowPasswordless?: boolean | (() => boolean);
  /** Default `public`. */
  schema?: string;
  /** Entities the runtime role may read and write. Default: every entity of the DataSource. */
  entities?: Array<EntityClass | string>;
  /** Append-only entities (audit logs): INSERT only, plus SELECT when `readableAppendOnly` is set. */
  appendOnly?: Array<EntityClass | string>;
  readableAppendOnly?: boolean;
  /** Owned entities to protect with row-level security as a second wall. */
  rowLevelSecurity?: RowLevelSecurityTable[];
  /**
   * Environment variable holding the key that signs each request's identity (the module's
   * `rowLevelSecurity.identityKey`, at least 32 bytes). Needed when `rowLevelSecurity` lists tables.
   * Default `ZT_RLS_IDENTITY_KEY`.
   */
  identityKeyEnv?: string;
}

interface Baseline {
  /** The database the roles were made for: another project's migration must not take them over. */
  database?: string;
  schemaOwner: string;
  publicCreate: boolean;
  publicTemp: boolean;
  publicConnect: boolean;
  tableOwners: Record<string, string>;
}

const POLICY = 'zero_trust_owner';

/** Marks the classes LeastPrivilegeRoleMigration makes: they create roles, so runMigrationsAsOwner runs them as the login. */
export const ROLE_MIGRATION = Symbol.for('nestjs-zero-trust:role-migration');
const LARGE_OBJECT_FUNCTIONS = 'lo_create(oid), lo_creat(integer), lo_import(text), lo_import(text, oid), lo_from_bytea(oid, bytea)';
const BASELINE_PREFIX = 'nestjs-zero-trust baseline:';

/**
 * A TypeORM migration class that locks the database down for the application ("assume breach"):
 *
 * ```ts
 * export class LeastPrivilege1732000300000 extends LeastPrivilegeRoleMigration({
 *   ownerRole: 'notes_owner', runtimeRole: 'notes_app', rowLevelSecurity: [{ entity: Note }],
 * }) {}
 * ```
 *
 * `up` is idempotent; `down` restores what it found (recorded on the owner role when `up` first ran).
 * Run it with a connection that may create roles (a superuser, or a role with CREATEROLE that owns the tables).
 */
export function LeastPrivilegeRoleMigration(options: LeastPrivilegeOptions): new () => MigrationInterface {
  const owner = ident(options.ownerRole, 'ownerRole');
  const runtime = ident(options.runtimeRole, 'runtimeRole');
  const schema = ident(options.schema ?? 'public', 'schema');
  const passwordEnv = options.runtimePasswordEnv ?? 'DATABASE_RUNTIME_PASSWORD';
  const identityKeyEnv = options.identityKeyEnv ?? 'ZT_RLS_IDENTITY_KEY';
  if (options.ownerRole === options.runtimeRole) throw new ZeroTrustConfigurationError('ownerRole and runtimeRole must differ.');

  // TypeORM names a migration after its class, which must end in a timestamp: users subclass this
  // one (`class LeastPrivilege1732000300000 extends LeastPrivilegeRoleMigration({...}) {}`).
  return class LeastPrivilegeRoleMigrationClass implements MigrationInterface {
    /** Creates roles: runMigrationsAsOwner runs it as the migration login, not as the owner. */
    readonly [ROLE_MIGRATION] = true;

    async up(queryRunner: QueryRunner): Promise<void> {
      const q = (sql: string) => queryRunner.query(sql);
      const dataSource = queryRunner.connection;
      const password = process.env[passwordEnv];
      const passwordless = typeof options.allowPasswordless === 'function' ? options.allowPasswordless() : options.allowPasswordless === true;
      if (!password && !passwordless) {
        throw new ZeroTrustConfigurationError(`set ${passwordEnv} to the runtime role's password before running this migration (there is no default).`);
      }
      const databaseName = (await q('SELECT current_database() AS db'))[0].db as string;
      const database = ident(databaseName, 'database');
      const { dml, appendOnly, rls } = await tablesOf(dataSource, queryRunner, options);
      await refuseRolesOfAnotherDatabase(queryRunner, options.ownerRole, options.runtimeRole);

      await q(`DO $$ BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = ${literal(options.ownerRole)}) THEN CREATE ROLE ${owner} NOLOGIN; END IF;
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = ${literal(options.runtimeRole)}) THEN CREATE ROLE ${runtime} LOGIN; END IF;
      END $$`);
      // Record what we are about to change, once: a second `up` must not overwrite the original state.
      const [existing] = await q(`SELECT shobj_description(oid, 'pg_authid') AS note FROM pg_roles WHERE rolname = ${literal(options.ownerRole)}`);
      if (!String(existing?.note ?? '').startsWith(BASELINE_PREFIX)) {
        const baseline = { database: databaseName, ...(await readBaseline(queryRunner, options.schema ?? 'public', [...dml, ...appendOnly])) };
        await q(`COMMENT ON ROLE ${owner} IS ${literal(BASELINE_PREFIX + JSON.stringify(baseline))}`);
      }

      const flags = 'NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOREPLICATION';
      await q(`ALTER ROLE ${owner} NOLOGIN ${flags}`);
      await q(`ALTER ROLE ${runtime} LOGIN ${flags} NOINHERIT`);
      await queryWithSecret(
        queryRunner,
        "the runtime role's password",
        `ALTER ROLE ${runtime} PASSWORD ${password ? literal(scramSha256Verifier(password)) : 'NULL'}`,
      );

      // What PUBLIC gets by default: creating objects in the schema, temporary tables, connecting, executing new functions.
      await q(`REVOKE CREATE ON SCHEMA ${schema} FROM PUBLIC`);
      await q(`REVOKE TEMPORARY, CONNECT ON DATABASE ${database} FROM PUBLIC`);
      await q(`ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC`);
      await q(`ALTER DEFAULT PRIVILEGES FOR ROLE ${owner} REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC`);
      // Large objects live outside every table and grant: an injected lo_create/lo_import stores what it likes.
      await q(`REVOKE EXECUTE ON FUNCTION ${LARGE_OBJECT_FUNCTIONS} FROM PUBLIC`);
      await q(`ALTER SCHEMA ${schema} OWNER TO ${owner}`);
      await q(`GRANT CONNECT ON DATABASE ${database} TO ${runtime}`);
      await q(`REVOKE ALL ON SCHEMA ${schema} FROM ${runtime}`);
      await q(`GRANT USAGE ON SCHEMA ${schema} TO ${runtime}`);

      for (const table of [...dml, ...appendOnly]) {
        const name = `${schema}.${ident(table, 'table')}`;
        await q(`ALTER TABLE ${name} OWNER TO ${owner}`);
        await q(`REVOKE ALL ON TABLE ${name} FROM PUBLIC, ${runtime}`);
        const rights = dml.includes(table) ? 'SELECT, INSERT, UPDATE, DELETE' : options.readableAppendOnly ? 'SELECT, INSERT' : 'INSERT';
        await q(`GRANT ${rights} ON TABLE ${name} TO ${runtime}`);
      }
      for (const sequence of await sequencesOf(queryRunner, options.schema ?? 'public', [...dml, ...appendOnly])) {
        await q(`GRANT USAGE, SELECT ON SEQUENCE ${schema}.${ident(sequence, 'sequence')} TO ${runtime}`);
      }
      const migrations = dataSource.options.migrationsTableName ?? 'migrations';
      if (await exists(queryRunner, options.schema ?? 'public', migrations)) {
        await q(`REVOKE ALL ON TABLE ${schema}.${ident(migrations, 'migrations table')} FROM PUBLIC, ${runtime}`);
      }
      // Tables the owner creates later follow the same rule (still only through a migration).
      await q(`ALTER DEFAULT PRIVILEGES FOR ROLE ${owner} IN SCHEMA ${schema} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${runtime}`);
      await q(`ALTER DEFAULT PRIVILEGES FOR ROLE ${owner} IN SCHEMA ${schema} GRANT USAGE, SELECT ON SEQUENCES TO ${runtime}`);

      if (rls.length > 0) await installIdentity(queryRunner, schema, owner, runtime, identityKeyEnv);
      for (const { table, column, adminScope } of rls) {
        const name = `${schema}.${ident(table, 'table')}`;
        // Scalar subqueries: evaluated once per statement (an InitPlan), not once per row.
        const mine = `${ident(column, 'owner column')}::text = (SELECT ${schema}.zt_current_subject())`;
        const admin = adminScope ? ` OR (SELECT ${schema}.zt_has_scope(${literal(adminScope)}))` : '';
        await q(`ALTER TABLE ${name} ENABLE ROW LEVEL SECURITY`);
        await q(`ALTER TABLE ${name} FORCE ROW LEVEL SECURITY`);
        await q(`DROP POLICY IF EXISTS ${POLICY} ON ${name}`);
        // Unset setting -> NULL -> no row passes: the policy fails closed.
        await q(`CREATE POLICY ${POLICY} ON ${name} USING (${mine}${admin}) WITH CHECK (${mine})`);
      }
    }

    async down(queryRunner: QueryRunner): Promise<void> {
      const q = (sql: string) => queryRunner.query(sql);
      const [role] = await q(`SELECT shobj_description(oid, 'pg_authid') AS note FROM pg_roles WHERE rolname = ${literal(options.ownerRole)}`);
      if (!role) return;
      const note = String(role.note ?? '');
      if (!note.startsWith(BASELINE_PREFIX)) throw new ZeroTrustConfigurationError(`role ${options.ownerRole} carries no baseline: it was not created by this migration.`);
      const baseline = JSON.parse(note.slice(BASELINE_PREFIX.length)) as Baseline;
      const database = ident((await q('SELECT current_database() AS db'))[0].db as string, 'database');
      const { rls } = await tablesOf(queryRunner.connection, queryRunner, options);
      for (const { table } of rls) {
        const name = `${schema}.${ident(table, 'table')}`;
        await q(`DROP POLICY IF EXISTS ${POLICY} ON ${name}`);
        await q(`ALTER TABLE ${name} NO FORCE ROW LEVEL SECURITY`);
        await q(`ALTER TABLE ${name} DISABLE ROW LEVEL SECURITY`);
      }
      for (const [table, tableOwner] of Object.entries(baseline.tableOwners)) {
        await q(`ALTER TABLE ${schema}.${ident(table, 'table')} OWNER TO "${tableOwner.replace(/"/g, '""')}"`);
      }
      await q(`ALTER SCHEMA ${schema} OWNER TO "${baseline.schemaOwner.replace(/"/g, '""')}"`);
      await q(`DROP OWNED BY ${runtime}`);
      await q(`DROP OWNED BY ${owner}`);
      if (baseline.publicCreate) await q(`GRANT CREATE ON SCHEMA ${schema} TO PUBLIC`);
      if (baseline.publicTemp) await q(`GRANT TEMPORARY ON DATABASE ${database} TO PUBLIC`);
      if (baseline.publicConnect) await q(`GRANT CONNECT ON DATABASE ${database} TO PUBLIC`);
      await q(`ALTER DEFAULT PRIVILEGES GRANT EXECUTE ON FUNCTIONS TO PUBLIC`);
      await q(`GRANT EXECUTE ON FUNCTION ${LARGE_OBJECT_FUNCTIONS} TO PUBLIC`);
      await q(`DROP ROLE ${runtime}`);
      await q(`DROP ROLE ${owner}`);
    }
  };
}

/**
 * Role names are cluster-wide: a second project on the same server with the same names would silently
 * take over the first one's roles (a new password for its runtime role, this database's grants). The
 * owner role records the database it was made for; a runtime role granted CONNECT explicitly on another
 * locked-down database serves that database's project.
 */
export async function refuseRolesOfAnotherDatabase(queryRunner: QueryRunner, ownerRole: string, runtimeRole?: string): Promise<void> {
  const [{ db: current }] = await queryRunner.query('SELECT current_database() AS db');
  const [claimed] = await queryRunner.query(`SELECT shobj_description(oid, 'pg_authid') AS note FROM pg_roles WHERE rolname = $1`, [ownerRole]);
  const note = String(claimed?.note ?? '');
  const ownerDatabase = note.startsWith(BASELINE_PREFIX) ? (JSON.parse(note.slice(BASELINE_PREFIX.length)) as Baseline).database : undefined;
  let claimedBy = ownerDatabase !== undefined && ownerDatabase !== current ? ownerDatabase : undefined;
  if (!claimedBy && runtimeRole) {
    const [elsewhere] = await queryRunner.query(
      `SELECT string_agg(d.datname, ', ') AS names FROM pg_database d, pg_roles r
        WHERE r.rolname = $1 AND d.datname <> current_database() AND NOT r.rolsuper
          AND has_database_privilege(r.oid, d.oid, 'CONNECT') AND NOT has_database_privilege('public', d.oid, 'CONNECT')`,
      [runtimeRole],
    );
    claimedBy = elsewhere?.names ?? undefined;
  }
  if (claimedBy) {
    throw new ZeroTrustConfigurationError(
      `roles ${ownerRole}${runtimeRole ? ` / ${runtimeRole}` : ''} already serve database "${claimedBy}" (another project on this server): ` +
        'migrating would give its runtime role a new password and this database\'s grants. Give this project its own role names ' +
        '(DATABASE_OWNER_ROLE / DATABASE_RUNTIME_ROLE in a generated project; by default they come from the project name) before its first migration.',
    );
  }
}

/**
 * The key table and the functions the policies call (see RlsIdentity for the format and the threat
 * model): owned by the owner role, SECURITY DEFINER with a fixed search_path, the key readable by the
 * owner only; the runtime role may only EXECUTE the functions, which reveal nothing but its own identity.
 */
async function installIdentity(queryRunner: QueryRunner, schema: string, owner: string, runtime: string, keyEnv: string): Promise<void> {
  const q = (sql: string) => queryRunner.query(sql);
  const key = process.env[keyEnv];
  if (!key || Buffer.byteLength(key, 'utf8') < MIN_IDENTITY_KEY_BYTES) {
    throw new ZeroTrustConfigurationError(
      `set ${keyEnv} (at least ${MIN_IDENTITY_KEY_BYTES} bytes; generate one with openssl rand -base64 48) before running this migration: ` +
        'row-level security signs each request\'s identity with it, and the module needs the same value as rowLevelSecurity.identityKey.',
    );
  }
  const table = `${schema}.${IDENTITY_KEY_TABLE}`;
  await q(`CREATE TABLE IF NOT EXISTS ${table} (key bytea NOT NULL)`);
  await q(`ALTER TABLE ${table} OWNER TO ${owner}`);
  await q(`REVOKE ALL ON TABLE ${table} FROM PUBLIC, ${runtime}`);
  await q(`DELETE FROM ${table}`);
  await queryWithSecret(queryRunner, 'the row-level-security identity key', `INSERT INTO ${table} (key) VALUES (convert_to($1, 'UTF8'))`, [key]);
  await q(`CREATE OR REPLACE FUNCTION ${schema}.zt_identity() RETURNS jsonb
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
    DECLARE
      raw text := current_setting('${RLS_IDENTITY_SETTING}', true);
      dot int;
      payload text;
      k bytea;
      claims jsonb;
    BEGIN
      IF raw IS NULL OR raw = '' THEN RETURN NULL; END IF;
      dot := strpos(raw, '.');
      IF dot < 2 THEN RETURN NULL; END IF;
      payload := left(raw, dot - 1);
      SELECT t.key INTO k FROM ${table} t LIMIT 1;
      IF k IS NULL OR encode(sha256(k || sha256(convert_to(payload, 'UTF8'))), 'hex') <> substr(raw, dot + 1) THEN RETURN NULL; END IF;
      claims := convert_from(decode(payload, 'hex'), 'UTF8')::jsonb;
      -- Bound to this backend and this transaction (its start), and short-lived: a value copied from another
      -- connection, or kept from an earlier transaction of this one, identifies nobody.
      IF (claims->>'p')::int IS DISTINCT FROM pg_backend_pid()
         OR (claims->>'t') IS DISTINCT FROM ${TRANSACTION_START}
         OR (claims->>'e')::float8 < extract(epoch FROM now()) THEN RETURN NULL; END IF;
      RETURN claims;
    END $fn$`);
  await q(`CREATE OR REPLACE FUNCTION ${schema}.zt_current_subject() RETURNS text
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$ SELECT ${schema}.zt_identity()->>'s' $fn$`);
  await q(`CREATE OR REPLACE FUNCTION ${schema}.zt_has_scope(scope text) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$ SELECT coalesce(${schema}.zt_identity()->'c' ? scope, false) $fn$`);
  for (const fn of ['zt_identity()', 'zt_current_subject()', 'zt_has_scope(text)']) {
    await q(`ALTER FUNCTION ${schema}.${fn} OWNER TO ${owner}`);
    await q(`REVOKE ALL ON FUNCTION ${schema}.${fn} FROM PUBLIC`);
    await q(`GRANT EXECUTE ON FUNCTION ${schema}.${fn} TO ${runtime}`);
  }
}

/**
 * Runs a statement that carries a secret (the runtime role's SCRAM verifier, offline-crackable; the
 * row-level-security key, which signs any identity) on the query runner's own connection, past TypeORM.
 * `queryRunner.query` hands every statement and its parameters to the DataSource's logger (printed with
 * `logging: true`, 'all' or ['query']; a failed one with ['error'], a slow one with
 * `maxQueryExecutionTime`) and to every subscriber's beforeQuery/afterQuery. So a bind parameter would
 * not help (the logger prints parameters, and `ALTER ROLE` or a `DO` block takes none anyway), nor would
 * a `DO`/format() that reads the secret from somewhere a statement of TypeORM's put it.
 * The connection is the one TypeORM checked out for this runner, a pg client or the PGlite session of
 * exclusivePGliteDriver: both have `query(sql, params)`, and the statement runs inside the migration's
 * transaction. A failure is rethrown with PostgreSQL's message and code only: PGlite's errors carry the
 * statement and its parameters. (The server's own log is the operator's: `log_statement = 'all'` shows
 * the verifier, as for psql's \password; the plaintext never travels.)
 */
async function queryWithSecret(queryRunner: QueryRunner, what: string, sql: string, params?: unknown[]): Promise<void> {
  const connection = (await queryRunner.connect()) as { query?: (sql: string, params?: unknown[]) => Promise<unknown> } | undefined;
  if (typeof connection?.query !== 'function') {
    throw new ZeroTrustConfigurationError('LeastPrivilegeRoleMigration needs a PostgreSQL DataSource (the pg driver, or PGlite through exclusivePGliteDriver).');
  }
  try {
    await connection.query(sql, params);
  } catch (error) {
    const { message, code } = error as { message?: string; code?: string };
    throw Object.assign(new Error(`storing ${what} failed: ${message ?? 'unknown error'}${code ? ` (SQLSTATE ${code})` : ''}`), { code });
  }
}

async function tablesOf(dataSource: DataSource, queryRunner: QueryRunner, options: LeastPrivilegeOptions) {
  const schemaName = options.schema ?? 'public';
  const tableName = (entity: EntityClass | string) =>
    typeof entity === 'string' && !dataSource.hasMetadata(entity) ? entity : dataSource.getMetadata(entity as never).tableName;
  // Only tables that exist when this migration runs: an entity whose table a later migration creates
  // is that migration's to lock down (the resource schematic's migrations do).
  const existing = async (tables: string[]) => {
    const found: string[] = [];
    for (const table of tables) if (await exists(queryRunner, schemaName, table)) found.push(table);
    return found;
  };
  const appendOnly = await existing((options.appendOnly ?? []).map(tableName));
  const named = options.entities?.map(tableName) ?? dataSource.entityMetadatas.filter((m) => m.tableType === 'regular').map((m) => m.tableName);
  const dml = (await existing(named)).filter((table) => !appendOnly.includes(table));
  for (const table of ZERO_TRUST_TABLES) {
    if (!dml.includes(table) && (await exists(queryRunner, schemaName, table))) dml.push(table);
  }
  const rls = (options.rowLevelSecurity ?? [])
    .map((entry) => {
      const metadata = dataSource.getMetadata(entry.entity as never);
      const property = entry.ownerProperty ?? 'ownerId';
      const column = metadata.findColumnWithPropertyName(property);
      if (!column) throw new ZeroTrustConfigurationError(`rowLevelSecurity: ${metadata.name} has no property "${property}".`);
      return { table: metadata.tableName, column: column.databaseName, adminScope: entry.adminScope };
    })
    .filter((entry) => dml.includes(entry.table));
  return { dml, appendOnly, rls };
}

async function exists(queryRunner: QueryRunner, schema: string, table: string): Promise<boolean> {
  const [row] = await queryRunner.query(`SELECT to_regclass($1) IS NOT NULL AS found`, [`${schema}.${table}`]);
  return row.found === true;
}

async function sequencesOf(queryRunner: QueryRunner, schema: string, tables: string[]): Promise<string[]> {
  if (tables.length === 0) return [];
  const rows = await queryRunner.query(
    `SELECT DISTINCT s.relname AS name FROM pg_class s
       JOIN pg_depend d ON d.objid = s.oid AND d.deptype IN ('a', 'i')
       JOIN pg_class t ON t.oid = d.refobjid
       JOIN pg_namespace n ON n.oid = t.relnamespace
     WHERE s.relkind = 'S' AND n.nspname = $1 AND t.relname = ANY($2)`,
    [schema, tables],
  );
  return rows.map((row: { name: string }) => row.name);
}

async function readBaseline(queryRunner: QueryRunner, schema: string, tables: string[]): Promise<Baseline> {
  const [state] = await queryRunner.query(
    `SELECT pg_get_userbyid(n.nspowner) AS schema_owner,
            has_schema_privilege('public', n.nspname, 'CREATE') AS public_create,
            has_database_privilege('public', current_database(), 'TEMPORARY') AS public_temp,
            has_database_privilege('public', current_database(), 'CONNECT') AS public_connect
       FROM pg_namespace n WHERE n.nspname = $1`,
    [schema],
  );
  const owners = await queryRunner.query(
    `SELECT c.relname AS table, pg_get_userbyid(c.relowner) AS owner FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = ANY($2) AND c.relkind IN ('r', 'p')`,
    [schema, tables],
  );
  return {
    schemaOwner: state.schema_owner,
    publicCreate: state.public_create,
    publicTemp: state.public_temp,
    publicConnect: state.public_connect,
    tableOwners: Object.fromEntries(owners.map((row: { table: string; owner: string }) => [row.table, row.owner])),
  };
}

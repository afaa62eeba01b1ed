import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';
import { ident, literal } from '../database/sql-identifiers.js';
import { PEPPERED_HASH_PREFIX } from './password-pepper.js';

export interface UserCredentialsOptions {
  /** The role that owns the tables (as in `LeastPrivilegeRoleMigration`): it owns the functions and triggers made here. */
  ownerRole: string;
  /** The role the app serves with: it loses SELECT on the hash and every write to the grant and login columns. */
  runtimeRole: string;
  /** The users table. Default `users`. */
  table?: string;
  /** Default `public`. */
  schema?: string;
  /** Primary key column (the subject). Default `id`. */
  idColumn?: string;
  /** Login name column (an e-mail address...): written only at INSERT, never changed by the runtime role. Default `email`. */
  loginColumn?: string;
  /** The password hash (a PHC string such as argon2id's, peppered with `PasswordPepper`). Default `password_hash`. */
  passwordHashColumn?: string;
  /**
   * Columns that grant something (scopes, roles, a disabled flag...): the runtime role may neither
   * INSERT nor UPDATE them; an operator changes them through `zt_<table>_set_<column>()`, which demands
   * `grantAdminScope` in the caller's signed row-level-security identity. Every change, by anyone, is audited.
   */
  grantColumns: string[];
  /** The token scope an operator's request must carry to change a grant column (e.g. `users:admin`). */
  grantAdminScope: string;
  /** The append-only audit table the trigger writes to (`ZeroTrustAuditLog1732000200000`). Default `zt_audit_log`. */
  auditTable?: string;
  /**
   * The module's second-factor tables (`ZeroTrustMfa1732000120000`), when they exist: row-level security
   * on `subject` (the runtime role sees and writes the factor and recovery codes of the subject its
   * signed identity names, and none in bulk: `TypeOrmMfaStore` signs as the subject it works for), and
   * MFA turned on or off is audited as a grant change. Default `zt_mfa_factors` (with `zt_recovery_codes`); `false` to skip.
   */
  mfaFactorsTable?: string | false;
  /** The recovery-code table beside `mfaFactorsTable`. Default `zt_recovery_codes`. */
  recoveryCodesTable?: string;
  /**
   * Columns the runtime role reads but never writes, when the table has them: the time an address was
   * proven, which `LifecycleCredentialsMigration` lets it set only through `zt_<table>_mark_verified`
   * with a mailed token. Named here so that running this migration's `up` again (it grants the columns
   * it finds) does not hand the column back. Default `['email_verified_at']`.
   */
  readOnlyColumns?: string[];
  /** Leave DELETE on the table to the runtime role (an app that deletes accounts). Default false: deletion is an operator's act. */
  runtimeMayDelete?: boolean;
}

/** The identity functions `LeastPrivilegeRoleMigration` installs with `rowLevelSecurity`. */
const IDENTITY_FUNCTIONS = ['zt_has_scope(text)', 'zt_current_subject()'];
/** Grant values that mean "nothing granted": an INSERT or DELETE carrying only these is not a grant change. */
const NOTHING_GRANTED = `('null', '[]', 'false', '""', '{}')`;

/**
 * Takes the credential columns of the users table out of the runtime role's reach ("assume breach": SQL
 * injected through the app runs as that role), for PostgreSQL 15+ and PGlite. Run it after
 * `LeastPrivilegeRoleMigration` (with `rowLevelSecurity`) and `ZeroTrustAuditLog1732000200000`:
 *
 * ```ts
 * export class UserCredentials1732000310000 extends UserCredentialsMigration({
 *   ownerRole: 'notes_owner', runtimeRole: 'notes_app', grantColumns: ['scopes', 'disabled_at'], grantAdminScope: 'users:admin',
 * }) {}
 * ```
 *
 * - Column privileges: the runtime role reads every column but the password hash, inserts every column
 *   but the grant columns, updates none of the id, login, hash and grant columns, and may not DELETE.
 * - The hash never leaves the database to the runtime role. `zt_<t>_password_settings(id)` answers the
 *   hash without its last `$` part (algorithm, cost, salt: the PHC "settings"); the app computes the
 *   candidate hash with them (`PasswordPepper` + its argon2) and `zt_<t>_check_password(id, candidate)`
 *   compares digests of both inside the database. Calling them for every id yields salts and a yes/no
 *   oracle whose every guess costs an argon2 run and needs the app-held pepper.
 * - `zt_<t>_set_password(id, hash)` stores only a peppered hash (`zp1$…`): a hash the injector computed
 *   without the pepper is refused, and INSERT is held to the same rule by a trigger. It also needs the
 *   signed identity of that subject (`zt_current_subject()`): a made-up `zp1$…` value could not be used
 *   to sign in, but stored it would lock the account out.
 * - `zt_<t>_set_<column>(id, value)` for each grant column: only for a caller whose signed identity
 *   (`zt_has_scope`) carries `grantAdminScope`.
 * - The module's MFA tables, when present: row-level security on `subject`, so the runtime role reaches
 *   the encrypted secrets and recovery-code hashes of the subject its signed identity names only
 *   (`TypeOrmMfaStore` signs each statement for the subject it works for).
 * - An owner-owned trigger writes every change of a grant column (and of MFA on/off, and that a password
 *   changed, without the hashes) into the audit table with the old and new values, `current_user`,
 *   `session_user` and the app identity of the caller: whoever makes it, the app or an operator in psql.
 *
 * Columns added to the table later are not granted to the runtime role (column privileges name columns):
 * the migration that adds one grants it (`GRANT SELECT, INSERT, UPDATE (col) ON users TO app_role`), or runs `up` of this one again.
 */
export function UserCredentialsMigration(options: UserCredentialsOptions): new () => MigrationInterface {
  const owner = ident(options.ownerRole, 'ownerRole');
  const runtime = ident(options.runtimeRole, 'runtimeRole');
  const schema = ident(options.schema ?? 'public', 'schema');
  const tableName = options.table ?? 'users';
  const table = `${schema}.${ident(tableName, 'table')}`;
  const idName = options.idColumn ?? 'id';
  const id = ident(idName, 'idColumn');
  const loginName = options.loginColumn ?? 'email';
  const hashName = options.passwordHashColumn ?? 'password_hash';
  const hash = ident(hashName, 'passwordHashColumn');
  const auditTable = `${schema}.${ident(options.auditTable ?? 'zt_audit_log', 'auditTable')}`;
  const grantNames = options.grantColumns ?? [];
  if (grantNames.length === 0) throw new ZeroTrustConfigurationError('UserCredentialsMigration: list the grant columns (grantColumns: [\'scopes\', …]).');
  grantNames.forEach((name) => ident(name, 'grantColumns entry'));
  (options.readOnlyColumns ?? []).forEach((name) => ident(name, 'readOnlyColumns entry'));
  if (!options.grantAdminScope) throw new ZeroTrustConfigurationError('UserCredentialsMigration: name the operator scope that may change grants (grantAdminScope: \'users:admin\').');
  const fn = (suffix: string) => `${schema}.${ident(`zt_${tableName}_${suffix}`, 'function name (table name too long)')}`;
  const settingsFn = fn('password_settings');
  const checkFn = fn('check_password');
  const setPasswordFn = fn('set_password');
  const auditFn = fn('audit_grants');
  const formatFn = fn('password_format');
  const setterFn = (column: string) => fn(`set_${column}`);
  const mfaName = options.mfaFactorsTable === undefined ? 'zt_mfa_factors' : options.mfaFactorsTable;
  const mfaTable = mfaName ? `${schema}.${ident(mfaName, 'mfaFactorsTable')}` : undefined;
  const mfaAuditFn = mfaName ? `${schema}.${ident(`${mfaName}_audit_state`, 'function name')}` : undefined;
  const AUDIT_TRIGGER = ident(`zt_${tableName}_audit_grants`, 'trigger name');
  const FORMAT_TRIGGER = ident(`zt_${tableName}_password_format`, 'trigger name');
  const MFA_TRIGGER = ident('zt_mfa_audit_state', 'trigger name');
  const recoveryTable = mfaName ? `${schema}.${ident(options.recoveryCodesTable ?? 'zt_recovery_codes', 'recoveryCodesTable')}` : undefined;
  const MFA_POLICY = 'zero_trust_subject';

  return class UserCredentialsMigrationClass implements MigrationInterface {
    async up(queryRunner: QueryRunner): Promise<void> {
      const q = (sql: string, parameters?: unknown[]) => queryRunner.query(sql, parameters);
      const columns = await columnsOf(queryRunner, options.schema ?? 'public', tableName);
      if (columns.size === 0) throw new ZeroTrustConfigurationError(`UserCredentialsMigration: table ${tableName} does not exist yet: run this migration after the one that creates it.`);
      for (const name of [idName, loginName, hashName, ...grantNames]) {
        if (!columns.has(name)) throw new ZeroTrustConfigurationError(`UserCredentialsMigration: ${tableName} has no column "${name}" (columns: ${[...columns.keys()].join(', ')}).`);
      }
      for (const role of [options.ownerRole, options.runtimeRole]) {
        const [found] = await q(`SELECT 1 AS found FROM pg_roles WHERE rolname = $1`, [role]);
        if (!found) throw new ZeroTrustConfigurationError(`UserCredentialsMigration: role ${role} does not exist: run LeastPrivilegeRoleMigration first.`);
      }
      for (const signature of IDENTITY_FUNCTIONS) {
        const [row] = await q(`SELECT to_regprocedure($1) IS NOT NULL AS found`, [`${options.schema ?? 'public'}.${signature}`]);
        if (!row.found) {
          throw new ZeroTrustConfigurationError(
            `UserCredentialsMigration: ${signature} is missing: run LeastPrivilegeRoleMigration with rowLevelSecurity first (grant changes are authorized by the operator's signed identity).`,
          );
        }
      }
      const [audit] = await q(`SELECT to_regclass($1) IS NOT NULL AS found`, [auditTable.replace(/"/g, '')]);
      if (!audit.found) throw new ZeroTrustConfigurationError(`UserCredentialsMigration: the audit table ${auditTable} does not exist: run ZeroTrustAuditLog1732000200000 first.`);
      const idType = columns.get(idName)!;

      // Column privileges. REVOKE on the table also drops its column grants, so the state is exactly this.
      const all = [...columns.keys()];
      const list = (names: string[]) => names.map((name) => ident(name, 'column')).join(', ');
      const readable = all.filter((name) => name !== hashName);
      const readOnly = options.readOnlyColumns ?? ['email_verified_at'];
      const insertable = all.filter((name) => ![...grantNames, ...readOnly].includes(name));
      const updatable = all.filter((name) => ![idName, loginName, hashName, ...grantNames, ...readOnly].includes(name));
      await q(`REVOKE ALL ON TABLE ${table} FROM PUBLIC, ${runtime}`);
      await q(`GRANT SELECT (${list(readable)}) ON TABLE ${table} TO ${runtime}`);
      await q(`GRANT INSERT (${list(insertable)}) ON TABLE ${table} TO ${runtime}`);
      if (updatable.length > 0) await q(`GRANT UPDATE (${list(updatable)}) ON TABLE ${table} TO ${runtime}`);
      if (options.runtimeMayDelete) await q(`GRANT DELETE ON TABLE ${table} TO ${runtime}`);

      const definer = `SECURITY DEFINER SET search_path = pg_catalog, pg_temp`;
      // The PHC settings: everything before the last `$` (for argon2: algorithm, version, cost, salt). No `$`: nothing.
      await q(`CREATE OR REPLACE FUNCTION ${settingsFn}(subject ${idType}) RETURNS text
        LANGUAGE sql STABLE ${definer} AS $fn$
          SELECT CASE WHEN strpos(u.${hash}, '$') = 0 THEN NULL ELSE left(u.${hash}, length(u.${hash}) - strpos(reverse(u.${hash}), '$')) END
            FROM ${table} u WHERE u.${id} = subject
        $fn$`);
      // Digests compared, not the strings: the time taken says nothing about how much of the hash matched.
      await q(`CREATE OR REPLACE FUNCTION ${checkFn}(subject ${idType}, candidate text) RETURNS boolean
        LANGUAGE sql STABLE ${definer} AS $fn$
          SELECT coalesce((SELECT sha256(convert_to(u.${hash}, 'UTF8')) = sha256(convert_to(candidate, 'UTF8')) FROM ${table} u WHERE u.${id} = subject), false)
        $fn$`);
      await q(`CREATE OR REPLACE FUNCTION ${setPasswordFn}(subject ${idType}, new_hash text) RETURNS boolean
        LANGUAGE plpgsql VOLATILE ${definer} AS $fn$
        BEGIN
          IF new_hash IS NULL OR left(new_hash, ${PEPPERED_HASH_PREFIX.length}) <> ${literal(PEPPERED_HASH_PREFIX)} THEN
            RAISE EXCEPTION 'only a peppered password hash (${PEPPERED_HASH_PREFIX}...) may be stored' USING ERRCODE = '22023';
          END IF;
          -- The subject's own signed identity (the app signs it: a reset, a change, a re-hash at sign-in).
          IF NOT coalesce(${schema}.zt_current_subject() = subject::text, false) THEN
            RAISE EXCEPTION 'a password is set only under the signed identity of its subject' USING ERRCODE = '42501';
          END IF;
          UPDATE ${table} u SET ${hash} = new_hash WHERE u.${id} = subject;
          RETURN FOUND;
        END $fn$`);
      const functions = [`${settingsFn}(${idType})`, `${checkFn}(${idType}, text)`, `${setPasswordFn}(${idType}, text)`];
      for (const column of grantNames) {
        const type = columns.get(column)!;
        await q(`CREATE OR REPLACE FUNCTION ${setterFn(column)}(subject ${idType}, new_value ${type}) RETURNS boolean
          LANGUAGE plpgsql VOLATILE ${definer} AS $fn$
          BEGIN
            IF NOT coalesce(${schema}.zt_has_scope(${literal(options.grantAdminScope)}), false) THEN
              RAISE EXCEPTION 'changing ${column} needs an operator identity with the scope ${options.grantAdminScope.replace(/'/g, "''")}' USING ERRCODE = '42501';
            END IF;
            UPDATE ${table} u SET ${ident(column, 'column')} = new_value WHERE u.${id} = subject;
            RETURN FOUND;
          END $fn$`);
        functions.push(`${setterFn(column)}(${idType}, ${type})`);
      }
      for (const signature of functions) {
        await q(`ALTER FUNCTION ${signature} OWNER TO ${owner}`);
        await q(`REVOKE ALL ON FUNCTION ${signature} FROM PUBLIC`);
        await q(`GRANT EXECUTE ON FUNCTION ${signature} TO ${runtime}`);
      }

      // INSERT may carry a hash (registration): the same rule as set_password, for every role but the owner's.
      await q(`CREATE OR REPLACE FUNCTION ${formatFn}() RETURNS trigger
        LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
        BEGIN
          IF NEW.${hash} IS NOT NULL AND left(NEW.${hash}, ${PEPPERED_HASH_PREFIX.length}) <> ${literal(PEPPERED_HASH_PREFIX)}
             AND NOT pg_has_role(current_user, ${literal(options.ownerRole)}, 'USAGE') THEN
            RAISE EXCEPTION 'only a peppered password hash (${PEPPERED_HASH_PREFIX}...) may be stored' USING ERRCODE = '22023';
          END IF;
          RETURN NEW;
        END $fn$`);
      // Runs as whoever made the change, so current_user names them (an operator in psql, the runtime role,
      // or the owner inside a setter function, whose caller's app identity the writer adds).
      await q(`CREATE OR REPLACE FUNCTION ${auditFn}() RETURNS trigger
        LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
        DECLARE
          grant_columns text[] := ARRAY[${grantNames.map(literal).join(', ')}];
          before jsonb := CASE WHEN TG_OP = 'INSERT' THEN '{}'::jsonb ELSE to_jsonb(OLD) END;
          after jsonb := CASE WHEN TG_OP = 'DELETE' THEN '{}'::jsonb ELSE to_jsonb(NEW) END;
          changes jsonb := '{}'::jsonb;
          c text;
        BEGIN
          FOREACH c IN ARRAY grant_columns LOOP
            CONTINUE WHEN (before->c) IS NOT DISTINCT FROM (after->c);
            CONTINUE WHEN TG_OP = 'INSERT' AND coalesce(after->c, 'null'::jsonb) IN ${NOTHING_GRANTED};
            changes := changes || jsonb_build_object(c, jsonb_build_object('old', before->c, 'new', after->c));
          END LOOP;
          IF changes <> '{}'::jsonb OR TG_OP = 'DELETE' THEN
            PERFORM ${schema}.zt_audit_grant_change('grants.changed', (CASE WHEN TG_OP = 'DELETE' THEN before ELSE after END)->>${literal(idName)}, TG_OP, TG_TABLE_NAME, changes, current_user::text);
          END IF;
          IF TG_OP = 'UPDATE' AND (before->${literal(hashName)}) IS DISTINCT FROM (after->${literal(hashName)}) THEN
            PERFORM ${schema}.zt_audit_grant_change('credentials.changed', after->>${literal(idName)}, TG_OP, TG_TABLE_NAME, jsonb_build_object(${literal(hashName)}, 'changed'), current_user::text);
          END IF;
          RETURN NULL;
        END $fn$`);
      await installAuditWriter(q, schema, auditTable, owner, runtime);
      for (const trigger of [`${formatFn}()`, `${auditFn}()`]) {
        await q(`ALTER FUNCTION ${trigger} OWNER TO ${owner}`);
        await q(`REVOKE ALL ON FUNCTION ${trigger} FROM PUBLIC`);
      }
      await q(`DROP TRIGGER IF EXISTS ${FORMAT_TRIGGER} ON ${table}`);
      await q(`CREATE TRIGGER ${FORMAT_TRIGGER} BEFORE INSERT OR UPDATE OF ${hash} ON ${table} FOR EACH ROW EXECUTE FUNCTION ${formatFn}()`);
      await q(`DROP TRIGGER IF EXISTS ${AUDIT_TRIGGER} ON ${table}`);
      await q(`CREATE TRIGGER ${AUDIT_TRIGGER} AFTER INSERT OR UPDATE OR DELETE ON ${table} FOR EACH ROW EXECUTE FUNCTION ${auditFn}()`);

      if (mfaTable && mfaAuditFn && (await exists(queryRunner, mfaTable))) {
        // MFA on (an active secret) or off: the state that decides whether a password alone signs in.
        await q(`CREATE OR REPLACE FUNCTION ${mfaAuditFn}() RETURNS trigger
          LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
          DECLARE
            was boolean := TG_OP <> 'INSERT' AND OLD.secret IS NOT NULL;
            now_on boolean := TG_OP <> 'DELETE' AND NEW.secret IS NOT NULL;
          BEGIN
            IF was IS DISTINCT FROM now_on THEN
              PERFORM ${schema}.zt_audit_grant_change('grants.changed', CASE WHEN TG_OP = 'DELETE' THEN OLD.subject ELSE NEW.subject END, TG_OP, TG_TABLE_NAME,
                jsonb_build_object('mfa', jsonb_build_object('old', was, 'new', now_on)), current_user::text);
            END IF;
            RETURN NULL;
          END $fn$`);
        await q(`ALTER FUNCTION ${mfaAuditFn}() OWNER TO ${owner}`);
        await q(`REVOKE ALL ON FUNCTION ${mfaAuditFn}() FROM PUBLIC`);
        await q(`DROP TRIGGER IF EXISTS ${MFA_TRIGGER} ON ${mfaTable}`);
        await q(`CREATE TRIGGER ${MFA_TRIGGER} AFTER INSERT OR UPDATE OF secret OR DELETE ON ${mfaTable} FOR EACH ROW EXECUTE FUNCTION ${mfaAuditFn}()`);
      }
      for (const secrets of [mfaTable, recoveryTable]) {
        if (!secrets || !(await exists(queryRunner, secrets))) continue;
        // Encrypted TOTP secrets and recovery-code hashes: per subject, for the identity that names it.
        const mine = `subject = (SELECT ${schema}.zt_current_subject())`;
        await q(`ALTER TABLE ${secrets} ENABLE ROW LEVEL SECURITY`);
        await q(`ALTER TABLE ${secrets} FORCE ROW LEVEL SECURITY`);
        await q(`DROP POLICY IF EXISTS ${MFA_POLICY} ON ${secrets}`);
        await q(`CREATE POLICY ${MFA_POLICY} ON ${secrets} USING (${mine}) WITH CHECK (${mine})`);
      }
    }

    async down(queryRunner: QueryRunner): Promise<void> {
      const q = (sql: string, parameters?: unknown[]) => queryRunner.query(sql, parameters);
      const columns = await columnsOf(queryRunner, options.schema ?? 'public', tableName);
      if (mfaTable && (await exists(queryRunner, mfaTable))) await q(`DROP TRIGGER IF EXISTS ${MFA_TRIGGER} ON ${mfaTable}`);
      for (const secrets of [mfaTable, recoveryTable]) {
        if (!secrets || !(await exists(queryRunner, secrets))) continue;
        await q(`DROP POLICY IF EXISTS ${MFA_POLICY} ON ${secrets}`);
        await q(`ALTER TABLE ${secrets} NO FORCE ROW LEVEL SECURITY`);
        await q(`ALTER TABLE ${secrets} DISABLE ROW LEVEL SECURITY`);
      }
      if (mfaAuditFn) await q(`DROP FUNCTION IF EXISTS ${mfaAuditFn}()`);
      if (columns.size > 0) {
        await q(`DROP TRIGGER IF EXISTS ${AUDIT_TRIGGER} ON ${table}`);
        await q(`DROP TRIGGER IF EXISTS ${FORMAT_TRIGGER} ON ${table}`);
      }
      await q(`DROP FUNCTION IF EXISTS ${auditFn}()`);
      await q(`DROP FUNCTION IF EXISTS ${formatFn}()`);
      const idType = columns.get(idName);
      if (idType) {
        await q(`DROP FUNCTION IF EXISTS ${settingsFn}(${idType})`);
        await q(`DROP FUNCTION IF EXISTS ${checkFn}(${idType}, text)`);
        await q(`DROP FUNCTION IF EXISTS ${setPasswordFn}(${idType}, text)`);
        for (const column of grantNames) {
          const type = columns.get(column);
          if (type) await q(`DROP FUNCTION IF EXISTS ${setterFn(column)}(${idType}, ${type})`);
        }
        // Back to what LeastPrivilegeRoleMigration grants on an entity table.
        await q(`REVOKE ALL ON TABLE ${table} FROM ${runtime}`);
        await q(`GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE ${table} TO ${runtime}`);
      }
      // Shared by every users table of the schema: dropped only when no trigger function needs it any more.
      const [users] = await q(`SELECT count(*)::int AS n FROM pg_proc WHERE proname LIKE '%\\_audit\\_grants' OR proname LIKE '%\\_audit\\_state'`);
      if (users.n === 0) await q(`DROP FUNCTION IF EXISTS ${schema}.zt_audit_grant_change(text, text, text, text, jsonb, text)`);
    }
  };
}

/**
 * The one writer of grant-change rows, called by the triggers with the role that made the change
 * (`current_user` as the trigger saw it: inside this SECURITY DEFINER function it is the owner). It
 * inserts as the owner, so the row lands whatever the changing role may do on the audit table. The
 * runtime role may execute it (its INSERTs fire the triggers), which gives it nothing it did not have:
 * it may already INSERT into the append-only table, and never UPDATE or DELETE there.
 */
async function installAuditWriter(q: (sql: string) => Promise<unknown>, schema: string, auditTable: string, owner: string, runtime: string): Promise<void> {
  const signature = `${schema}.zt_audit_grant_change(text, text, text, text, jsonb, text)`;
  await q(`CREATE OR REPLACE FUNCTION ${schema}.zt_audit_grant_change(event_type text, subject text, operation text, table_name text, changes jsonb, database_user text) RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
    BEGIN
      INSERT INTO ${auditTable} ("time", "type", "outcome", "reason", "subject", "details")
      VALUES (now(), event_type, 'success', left(table_name || ': ' || coalesce((SELECT string_agg(k, ',' ORDER BY k) FROM jsonb_object_keys(changes) AS k), ''), 300), subject,
        jsonb_build_object('table', table_name, 'operation', operation, 'changes', changes,
          'databaseUser', database_user, 'sessionUser', session_user::text, 'actor', ${schema}.zt_current_subject(), 'transaction', txid_current()::text));
    END $fn$`);
  await q(`ALTER FUNCTION ${signature} OWNER TO ${owner}`);
  await q(`REVOKE ALL ON FUNCTION ${signature} FROM PUBLIC`);
  await q(`GRANT EXECUTE ON FUNCTION ${signature} TO ${runtime}`);
}

/** Column name -> its type as SQL spells it (`uuid`, `text[]`, `timestamp with time zone`). */
async function columnsOf(queryRunner: QueryRunner, schema: string, table: string): Promise<Map<string, string>> {
  const rows = (await queryRunner.query(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [schema, table],
  )) as Array<{ name: string; type: string }>;
  // varchar(254) and friends: a function parameter takes the type without its modifier.
  return new Map(rows.map((row) => [row.name, row.type.replace(/\(\d+(,\d+)?\)/, '')]));
}

async function exists(queryRunner: QueryRunner, qualified: string): Promise<boolean> {
  const [row] = await queryRunner.query(`SELECT to_regclass($1) IS NOT NULL AS found`, [qualified.replace(/"/g, '')]);
  return row.found === true;
}

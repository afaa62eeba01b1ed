import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';
import { ident } from '../database/sql-identifiers.js';

export interface LifecycleCredentialsOptions {
  /** The role that owns the tables (as in `LeastPrivilegeRoleMigration`): it owns the functions made here. */
  ownerRole: string;
  /** The role the app serves with: it keeps SELECT on `zt_account_tokens` (hashes only) and loses every write to it. */
  runtimeRole: string;
  /** The users table. Default `users`. */
  table?: string;
  /** Default `public`. */
  schema?: string;
  /** Primary key column (the subject). Default `id`. */
  idColumn?: string;
  /** When the address was proven (`timestamptz`, NULL until then). Default `email_verified_at`. */
  verifiedColumn?: string;
}

/** The functions this migration installs on the token table (signatures, for grants and `down`). */
export const ACCOUNT_TOKEN_FUNCTIONS = {
  issue: 'zt_account_tokens_issue(text, text, text, text, integer)',
  spend: 'zt_account_tokens_spend(text, text, text, text)',
  void: 'zt_account_tokens_void(text, text)',
} as const;

/**
 * Takes the lifecycle's one-time tokens and the "address proven" column out of the runtime role's reach
 * ("assume breach": SQL injected through the app runs as that role). Without it the runtime role could
 * `UPDATE users SET email_verified_at = now()` for any account, and worse, INSERT a reset token whose
 * clear value it chose for any account (the password stamp is computable from the settings it may read)
 * and reset that account's password through the app's own route: a takeover. With it:
 *
 * - `zt_account_tokens`: SELECT only (a SHA-256 of each token, useless as a link). Issuing goes through
 *   `zt_account_tokens_issue()`, which needs the signed row-level-security identity of the token's subject
 *   (`zt_current_subject()`, signed with the app-held identity key: the app signs it, an injector cannot);
 *   spending through `zt_account_tokens_spend()`, which takes the clear token and hashes it inside the
 *   database; voiding through `zt_account_tokens_void()`, again for the subject's own identity only.
 * - `<verifiedColumn>`: readable, never writable by the runtime role; `zt_<table>_mark_verified(id, token)`
 *   sets it only for the clear value of a live token (verification or reset) of that account: the function is
 *   useless without the mailed link, and reading the table yields only hashes.
 *
 * For PostgreSQL 15+ and PGlite. Run it after `ZeroTrustLifecycle1732000130000`, `LeastPrivilegeRoleMigration`
 * (with `rowLevelSecurity`) and `UserCredentialsMigration`, in the migration that adds the verified column:
 *
 * ```ts
 * await new (LifecycleCredentialsMigration({ ownerRole: 'notes_owner', runtimeRole: 'notes_app' }))().up(queryRunner);
 * ```
 *
 * `AccountTokenRepository` finds the functions at boot and uses them; `UserCredentials.markVerified()` is the app's side.
 */
export function LifecycleCredentialsMigration(options: LifecycleCredentialsOptions): new () => MigrationInterface {
  const owner = ident(options.ownerRole, 'ownerRole');
  const runtime = ident(options.runtimeRole, 'runtimeRole');
  const schemaName = options.schema ?? 'public';
  const schema = ident(schemaName, 'schema');
  const tableName = options.table ?? 'users';
  const table = `${schema}.${ident(tableName, 'table')}`;
  const idName = options.idColumn ?? 'id';
  const id = ident(idName, 'idColumn');
  const verifiedName = options.verifiedColumn ?? 'email_verified_at';
  const verified = ident(verifiedName, 'verifiedColumn');
  const tokens = `${schema}.zt_account_tokens`;
  const markFn = `${schema}.${ident(`zt_${tableName}_mark_verified`, 'function name (table name too long)')}`;
  const definer = `SECURITY DEFINER SET search_path = pg_catalog, pg_temp`;
  const digest = (sql: string) => `encode(sha256(convert_to(${sql}, 'UTF8')), 'hex')`;

  return class LifecycleCredentialsMigrationClass implements MigrationInterface {
    async up(queryRunner: QueryRunner): Promise<void> {
      const q = (sql: string, parameters?: unknown[]) => queryRunner.query(sql, parameters);
      const [found] = await q(`SELECT format_type(a.atttypid, NULL) AS id_type,
          (SELECT true FROM pg_attribute v WHERE v.attrelid = c.oid AND v.attname = $3 AND NOT v.attisdropped) AS has_verified,
          to_regclass($4) IS NOT NULL AS has_tokens, to_regprocedure($5) IS NOT NULL AS has_identity
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = $2
        WHERE n.nspname = $1 AND c.relname = $6`, [schemaName, idName, verifiedName, `${schemaName}.zt_account_tokens`, `${schemaName}.zt_current_subject()`, tableName]);
      if (!found) throw new ZeroTrustConfigurationError(`LifecycleCredentialsMigration: ${schemaName}.${tableName} has no column "${idName}": run it after the migration that creates the users table.`);
      if (!found.has_verified) throw new ZeroTrustConfigurationError(`LifecycleCredentialsMigration: ${tableName} has no column "${verifiedName}": add it first (ALTER TABLE ${tableName} ADD COLUMN ${verifiedName} timestamptz).`);
      if (!found.has_tokens) throw new ZeroTrustConfigurationError('LifecycleCredentialsMigration: zt_account_tokens does not exist: run ZeroTrustLifecycle1732000130000 first.');
      if (!found.has_identity) {
        throw new ZeroTrustConfigurationError('LifecycleCredentialsMigration: zt_current_subject() is missing: run LeastPrivilegeRoleMigration with rowLevelSecurity first (tokens are issued under the subject\'s signed identity).');
      }
      const idType = String(found.id_type);

      await q(`ALTER TABLE ${tokens} OWNER TO ${owner}`);
      await q(`REVOKE ALL ON TABLE ${tokens} FROM PUBLIC, ${runtime}`);
      await q(`GRANT SELECT ON TABLE ${tokens} TO ${runtime}`);
      // Column privileges: readable, never writable (REVOKE of one column's UPDATE leaves the others).
      await q(`REVOKE INSERT (${verified}), UPDATE (${verified}) ON TABLE ${table} FROM ${runtime}`);
      await q(`GRANT SELECT (${verified}) ON TABLE ${table} TO ${runtime}`);

      const mine = `coalesce(${schema}.zt_current_subject() = subject, false)`;
      await q(`CREATE OR REPLACE FUNCTION ${tokens}_issue(purpose text, subject text, token_hash text, password_stamp text, ttl_seconds integer) RETURNS void
        LANGUAGE plpgsql VOLATILE ${definer} AS $fn$
        BEGIN
          IF NOT ${mine} THEN
            RAISE EXCEPTION 'a token is issued only under the signed identity of its subject' USING ERRCODE = '42501';
          END IF;
          IF token_hash !~ '^[0-9a-f]{64}$' OR ttl_seconds NOT BETWEEN 1 AND 604800 THEN
            RAISE EXCEPTION 'a token is a SHA-256 in hex, living 1 s to 7 days' USING ERRCODE = '22023';
          END IF;
          INSERT INTO ${tokens} (token_hash, purpose, subject, password_stamp, expires_at)
            VALUES (token_hash, purpose, subject, password_stamp, now() + make_interval(secs => ttl_seconds));
        END $fn$`);
      // The clear token in, hashed here: reading the table (hashes) gives nothing this function accepts.
      await q(`CREATE OR REPLACE FUNCTION ${tokens}_spend(purpose text, token text, subject text, password_stamp text) RETURNS boolean
        LANGUAGE sql VOLATILE ${definer} AS $fn$
          WITH spent AS (
            UPDATE ${tokens} t SET used_at = now()
             WHERE t.token_hash = ${digest('token')} AND t.purpose = $1 AND t.subject = $3
               AND t.password_stamp IS NOT DISTINCT FROM $4 AND t.used_at IS NULL AND t.expires_at > now()
            RETURNING 1)
          SELECT count(*) = 1 FROM spent
        $fn$`);
      await q(`CREATE OR REPLACE FUNCTION ${tokens}_void(purpose text, subject text) RETURNS integer
        LANGUAGE plpgsql VOLATILE ${definer} AS $fn$
        DECLARE n integer;
        BEGIN
          IF NOT ${mine} THEN
            RAISE EXCEPTION 'tokens are voided only under the signed identity of their subject' USING ERRCODE = '42501';
          END IF;
          UPDATE ${tokens} t SET used_at = now() WHERE t.subject = $2 AND t.purpose = $1 AND t.used_at IS NULL;
          GET DIAGNOSTICS n = ROW_COUNT;
          RETURN n;
        END $fn$`);
      // Spent or not: the flow spends the token just before; knowing its clear value is the proof.
      await q(`CREATE OR REPLACE FUNCTION ${markFn}(subject ${idType}, token text) RETURNS boolean
        LANGUAGE plpgsql VOLATILE ${definer} AS $fn$
        BEGIN
          IF token IS NULL OR NOT EXISTS (SELECT 1 FROM ${tokens} t WHERE t.token_hash = ${digest('token')} AND t.subject = $1::text
                                           AND t.purpose IN ('verify', 'reset') AND t.expires_at > now()) THEN
            RETURN false;
          END IF;
          UPDATE ${table} u SET ${verified} = now() WHERE u.${id} = $1 AND u.${verified} IS NULL;
          RETURN true;
        END $fn$`);
      const signatures = [...Object.values(ACCOUNT_TOKEN_FUNCTIONS).map((s) => `${schema}.${s}`), `${markFn}(${idType}, text)`];
      for (const signature of signatures) {
        await q(`ALTER FUNCTION ${signature} OWNER TO ${owner}`);
        await q(`REVOKE ALL ON FUNCTION ${signature} FROM PUBLIC`);
        await q(`GRANT EXECUTE ON FUNCTION ${signature} TO ${runtime}`);
      }
    }

    async down(queryRunner: QueryRunner): Promise<void> {
      const q = (sql: string) => queryRunner.query(sql);
      for (const signature of Object.values(ACCOUNT_TOKEN_FUNCTIONS)) await q(`DROP FUNCTION IF EXISTS ${schema}.${signature}`);
      await q(`DO $do$ DECLARE f regprocedure; BEGIN
        FOR f IN SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                  WHERE n.nspname = ${`'${schemaName.replace(/'/g, "''")}'`} AND p.proname = ${`'zt_${tableName.replace(/'/g, "''")}_mark_verified'`} LOOP
          EXECUTE 'DROP FUNCTION ' || f;
        END LOOP; END $do$`);
      await q(`GRANT SELECT, INSERT, UPDATE ON TABLE ${tokens} TO ${runtime}`);
    }
  };
}

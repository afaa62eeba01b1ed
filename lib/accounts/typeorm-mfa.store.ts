import { Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';
import { DataSourceRef } from '../database/data-source.ref.js';
import type { ZeroTrustPrincipal } from '../core/principal.interface.js';
import { RlsContext } from '../database/rls-context.js';
import { RLS_IDENTITY_SETTING, RlsIdentities } from '../database/rls-identity.js';
import { type MfaRecord, MfaStore } from './mfa.store.js';
import { rows } from '../database/query-rows.js';

type Db = Pick<DataSource, 'query'>;

/** The issuer named in the identity the store signs for its own statements (never a token's issuer). */
const STORE_ISSUER = 'nestjs-zero-trust:mfa-store';

/**
 * `MfaStore` on the app's TypeORM DataSource (PostgreSQL or PGlite), tables from `ZeroTrustMfa1732000120000`.
 * Each spending write is one statement whose WHERE clause is the condition: under PostgreSQL's row locks
 * the second of two concurrent UPDATEs re-evaluates it after the first commits and matches nothing.
 *
 * With row-level security on (the module's `rowLevelSecurity.identityKey`), every statement runs under a
 * signed identity naming the subject it works for, so that `UserCredentialsMigration`'s policies on these
 * tables can hold SQL injected as the runtime role to the subject of its own request: no bulk read of the
 * encrypted secrets or recovery-code hashes, no factor stripped or code planted for another account.
 */
@Injectable()
export class TypeOrmMfaStore extends MfaStore {
  constructor(private readonly dataSources: DataSourceRef) {
    super();
  }

  /** At boot: the tables must exist, or the first sign-in of an MFA account would fail with a 500. */
  async assertTables(): Promise<void> {
    const db = await this.db();
    try {
      await db.query('SELECT subject, secret, pending_secret, last_used_step FROM zt_mfa_factors LIMIT 0');
      await db.query('SELECT subject, code_hash, used_at FROM zt_recovery_codes LIMIT 0');
    } catch {
      throw new ZeroTrustConfigurationError('accounts are enabled but the zt_mfa_factors/zt_recovery_codes tables are missing: add ZeroTrustMfa1732000120000 to your migrations.');
    }
  }

  async find(subject: string): Promise<MfaRecord | null> {
    const [row] = await rows<{ secret: string | null; pending_secret: string | null; last_used_step: number | null }>(
      await this.db(subject),
      `SELECT secret, pending_secret, last_used_step::float8 AS last_used_step FROM zt_mfa_factors WHERE subject = $1`,
      [subject],
    );
    return row ? { secret: row.secret, pendingSecret: row.pending_secret, lastUsedStep: row.last_used_step === null ? null : Number(row.last_used_step) } : null;
  }

  async savePending(subject: string, encryptedSecret: string): Promise<void> {
    await (await this.db(subject)).query(
      `INSERT INTO zt_mfa_factors (subject, pending_secret) VALUES ($1, $2)
       ON CONFLICT (subject) DO UPDATE SET pending_secret = EXCLUDED.pending_secret, updated_at = now()`,
      [subject, encryptedSecret],
    );
  }

  async activate(subject: string, pending: string, step: number, recoveryCodeHashes: readonly string[]): Promise<boolean> {
    const [row] = await rows<{ activated: number }>(
      await this.db(subject),
      `WITH activated AS (
         UPDATE zt_mfa_factors SET secret = pending_secret, pending_secret = NULL, last_used_step = $3, enabled_at = now(), updated_at = now()
         WHERE subject = $1 AND pending_secret = $2
         RETURNING subject
       ), cleared AS (
         DELETE FROM zt_recovery_codes WHERE subject IN (SELECT subject FROM activated)
       ), inserted AS (
         INSERT INTO zt_recovery_codes (subject, code_hash) SELECT activated.subject, hash FROM activated, unnest($4::text[]) AS hash
       )
       SELECT count(*)::int AS activated FROM activated`,
      [subject, pending, step, [...recoveryCodeHashes]],
    );
    return (row?.activated ?? 0) === 1;
  }

  async useStep(subject: string, secret: string, step: number): Promise<boolean> {
    const used = await rows(
      await this.db(subject),
      `UPDATE zt_mfa_factors SET last_used_step = $3, updated_at = now()
       WHERE subject = $1 AND secret = $2 AND (last_used_step IS NULL OR last_used_step < $3) RETURNING subject`,
      [subject, secret, step],
    );
    return used.length === 1;
  }

  async useRecoveryCode(subject: string, codeHash: string): Promise<boolean> {
    const used = await rows(
      await this.db(subject),
      `UPDATE zt_recovery_codes r SET used_at = now()
       FROM zt_mfa_factors f
       WHERE r.subject = $1 AND r.code_hash = $2 AND r.used_at IS NULL AND f.subject = r.subject AND f.secret IS NOT NULL
       RETURNING r.subject`,
      [subject, codeHash],
    );
    return used.length === 1;
  }

  async replaceRecoveryCodes(subject: string, codeHashes: readonly string[]): Promise<boolean> {
    const [row] = await rows<{ replaced: number }>(
      await this.db(subject),
      `WITH factor AS (
         SELECT subject FROM zt_mfa_factors WHERE subject = $1 AND secret IS NOT NULL FOR UPDATE
       ), cleared AS (
         DELETE FROM zt_recovery_codes WHERE subject IN (SELECT subject FROM factor)
       ), inserted AS (
         INSERT INTO zt_recovery_codes (subject, code_hash) SELECT factor.subject, hash FROM factor, unnest($2::text[]) AS hash
       )
       SELECT count(*)::int AS replaced FROM factor`,
      [subject, [...codeHashes]],
    );
    return (row?.replaced ?? 0) === 1;
  }

  async remainingRecoveryCodes(subject: string): Promise<number> {
    const [row] = await rows<{ remaining: number }>(
      await this.db(subject),
      `SELECT count(*)::int AS remaining FROM zt_recovery_codes WHERE subject = $1 AND used_at IS NULL`,
      [subject],
    );
    return row?.remaining ?? 0;
  }

  async replaceSecret(subject: string, from: string, to: string): Promise<boolean> {
    const replaced = await rows(await this.db(subject), `UPDATE zt_mfa_factors SET secret = $3, updated_at = now() WHERE subject = $1 AND secret = $2 RETURNING subject`, [
      subject,
      from,
      to,
    ]);
    return replaced.length === 1;
  }

  async remove(subject: string): Promise<boolean> {
    const removed = await rows(
      await this.db(subject),
      `WITH codes AS (DELETE FROM zt_recovery_codes WHERE subject = $1) DELETE FROM zt_mfa_factors WHERE subject = $1 RETURNING subject`,
      [subject],
    );
    return removed.length === 1;
  }

  /**
   * Where the statements about `subject` run. Inside a row-level-security transaction its manager is
   * used (on PGlite a second connection would wait for it), with the identity switched to `subject` for
   * the statement and switched back after. Elsewhere, with row-level security on, a short transaction of
   * its own carries `subject`'s signed identity; with it off, the DataSource as it is.
   */
  private async db(subject?: string): Promise<Db> {
    const dataSource = await this.dataSources.get();
    const open = RlsContext.manager();
    const identity = RlsIdentities.for(dataSource);
    if (subject === undefined || !identity) return open ?? dataSource;
    const principal = { subject, ownerId: subject, issuer: STORE_ISSUER, scopes: [] } as unknown as ZeroTrustPrincipal;
    return {
      query: async (sql: string, parameters?: unknown[]) => {
        if (!open) return RlsContext.run(dataSource, principal, (manager) => manager.query(sql, parameters));
        const runner = open.queryRunner!;
        const [{ previous }] = (await runner.query(`SELECT current_setting('${RLS_IDENTITY_SETTING}', true) AS previous`)) as Array<{ previous: string | null }>;
        await identity.apply(runner, principal, Date.now());
        const result = await runner.query(sql, parameters);
        // Only on success: a failed statement aborted the transaction, and its identity with it.
        await runner.query(`SELECT set_config('${RLS_IDENTITY_SETTING}', $1, true)`, [previous ?? '']);
        return result;
      },
    } as Db;
  }
}

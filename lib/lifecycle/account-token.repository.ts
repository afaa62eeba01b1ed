import { Injectable } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';
import type { ZeroTrustPrincipal } from '../core/principal.interface.js';
import { DataSourceRef } from '../database/data-source.ref.js';
import { RlsContext } from '../database/rls-context.js';
import { ACCOUNT_TOKEN_FUNCTIONS } from './lifecycle-credentials.migration.js';
import { rows } from '../database/query-rows.js';

type Db = Pick<DataSource, 'query'>;
export type AccountTokenPurpose = 'verify' | 'reset';

/** What a presented token stands for, before it is spent. */
export interface AccountTokenRecord {
  readonly subject: string;
  readonly passwordStamp: string | null;
}

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');
/** A password stamp is kept as a digest: the stamp may be the password hash itself. */
export const stampDigest = (stamp: string | undefined) => (stamp === undefined ? null : createHash('sha256').update('zt-password-stamp').update(stamp).digest('hex'));

/** The identity tokens are issued and voided under: the subject's own, signed with the app-held key. */
const lifecyclePrincipal = (subject: string): ZeroTrustPrincipal => ({
  subject,
  ownerId: subject,
  scopes: [],
  roles: [],
  issuer: 'zero-trust:lifecycle',
  authMethods: [],
  expiresAt: Math.floor(Date.now() / 1000) + 60,
  claims: {},
});

/**
 * `zt_account_tokens` (migration `ZeroTrustLifecycle1732000130000`): 256-bit random tokens, stored as
 * SHA-256 only. Expiry is checked against the database's clock, in the same statement that reads or spends.
 *
 * With `LifecycleCredentialsMigration` installed (found at boot), the runtime role may only read the
 * table: issuing and voiding go through the owner's functions under the subject's signed identity, and
 * spending through one that takes the clear token, so SQL injected as the runtime role can neither plant
 * a token it knows nor spend, move or revive one.
 */
@Injectable()
export class AccountTokenRepository {
  private hardened?: Promise<boolean>;

  constructor(private readonly dataSources: DataSourceRef) {}

  async assertTable(): Promise<void> {
    try {
      await (await this.db()).query('SELECT token_hash, purpose, subject, password_stamp, expires_at, used_at FROM zt_account_tokens LIMIT 0');
    } catch {
      throw new ZeroTrustConfigurationError('lifecycle is enabled but the zt_account_tokens table is missing: add ZeroTrustLifecycle1732000130000 to your migrations (and grant the runtime role DML on it).');
    }
    await this.functions();
  }

  /** Issues a token; returns it in clear (to be mailed, never stored). */
  async issue(purpose: AccountTokenPurpose, subject: string, ttlSeconds: number, passwordStamp: string | undefined): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    const parameters = [purpose, subject, hashToken(token), stampDigest(passwordStamp), ttlSeconds];
    if (await this.functions()) {
      await this.asSubject(subject, (db) => db.query('SELECT public.zt_account_tokens_issue($1, $2, $3, $4, $5::int)', parameters));
      return token;
    }
    await (await this.db()).query(
      `INSERT INTO zt_account_tokens (purpose, subject, token_hash, password_stamp, expires_at) VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))`,
      parameters,
    );
    return token;
  }

  /** The live token's record (unspent, unexpired, of this purpose), without spending it: a read, nothing changes. */
  async find(purpose: AccountTokenPurpose, token: string): Promise<AccountTokenRecord | null> {
    const [row] = await rows<{ subject: string; password_stamp: string | null }>(
      await this.db(),
      `SELECT subject, password_stamp FROM zt_account_tokens WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()`,
      [hashToken(token), purpose],
    );
    return row ? { subject: row.subject, passwordStamp: row.password_stamp === null ? null : row.password_stamp.trim() } : null;
  }

  /**
   * Spends the token: one conditional UPDATE, so of two requests racing with it exactly one wins. The
   * subject and stamp are part of the condition: what was checked is what is spent.
   */
  async spend(purpose: AccountTokenPurpose, token: string, record: AccountTokenRecord): Promise<boolean> {
    if (await this.functions()) {
      const [row] = await rows<{ spent: boolean }>(await this.db(), `SELECT public.zt_account_tokens_spend($1, $2, $3, $4) AS spent`, [purpose, token, record.subject, record.passwordStamp]);
      return row?.spent === true;
    }
    const spent = await rows(
      await this.db(),
      `UPDATE zt_account_tokens SET used_at = now()
       WHERE token_hash = $1 AND purpose = $2 AND subject = $3 AND password_stamp IS NOT DISTINCT FROM $4 AND used_at IS NULL AND expires_at > now()
       RETURNING subject`,
      [hashToken(token), purpose, record.subject, record.passwordStamp],
    );
    return spent.length === 1;
  }

  /** Voids every live token of a subject for a purpose (after a password change or a completed reset). */
  async voidAll(purpose: AccountTokenPurpose, subject: string): Promise<number> {
    if (await this.functions()) {
      const [row] = await this.asSubject(subject, async (db) => rows<{ n: number }>(db, `SELECT public.zt_account_tokens_void($1, $2) AS n`, [purpose, subject]));
      return Number(row?.n ?? 0);
    }
    const voided = await rows(
      await this.db(),
      `UPDATE zt_account_tokens SET used_at = now() WHERE subject = $1 AND purpose = $2 AND used_at IS NULL RETURNING subject`,
      [subject, purpose],
    );
    return voided.length;
  }

  /** Whether `LifecycleCredentialsMigration` installed the token functions (asked once). */
  private functions(): Promise<boolean> {
    return (this.hardened ??= (async () => {
      const [row] = await rows<{ found: boolean }>(await this.db(), `SELECT to_regprocedure($1) IS NOT NULL AS found`, [`public.${ACCOUNT_TOKEN_FUNCTIONS.issue}`]);
      return row?.found === true;
    })().catch((error: unknown) => {
      this.hardened = undefined;
      throw error;
    }));
  }

  /**
   * Runs `work` under the subject's signed identity: in the request's row-level-security transaction when
   * one is open (the database refuses if it names someone else), else in a short transaction of its own.
   */
  private async asSubject<T>(subject: string, work: (db: Db) => Promise<T>): Promise<T> {
    const open = RlsContext.manager();
    if (open) return work(open);
    return RlsContext.run(await this.dataSources.get(), lifecyclePrincipal(subject), work);
  }

  private async db(): Promise<Db> {
    return RlsContext.manager() ?? (await this.dataSources.get());
  }
}

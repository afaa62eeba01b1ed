import { createHash } from 'node:crypto';
import type { DataSource, QueryRunner } from 'typeorm';
import type { ZeroTrustPrincipal } from '../core/principal.interface.js';

/** The one setting row-level-security policies read, through the owner's `zt_identity()` function. */
export const RLS_IDENTITY_SETTING = 'zero_trust.identity';
/** How long a signed identity is good for, in seconds: well past any transaction's start, never a second session. */
const IDENTITY_TTL_SECONDS = 300;
export const MIN_IDENTITY_KEY_BYTES = 32;
/** The transaction's start as text, the same expression in the app's read and in the owner's function. */
export const TRANSACTION_START = `extract(epoch FROM now())::text`;

/**
 * The identity a request's transaction carries into PostgreSQL, in a form the runtime role cannot
 * forge. SQL injected through the app runs as the runtime role, which may call `set_config` on any
 * setting: a plain `zero_trust.user_id` would let it claim any user. So the value is
 * `hex(json{s: subject, i: issuer, c: scopes, e: expiry, p: backend pid}) . hex(sha256(key || sha256(payload)))`
 * and the policies call `zt_identity()`, a SECURITY DEFINER function of the owner role that recomputes
 * the MAC with the key from a table only the owner can read (PostgreSQL's built-in `sha256()`; no
 * extension, so PGlite runs it too). The key lives in the app's configuration and in that table, never
 * where the runtime role can read it. A value copied from another connection fails the pid check, an
 * old one the expiry; `sha256(key || sha256(payload))` has a fixed-length inner message, so SHA-256
 * length extension cannot stretch a MAC to another payload.
 */
export class RlsIdentity {
  constructor(private readonly key: Buffer) {}

  /**
   * Opens the transaction on `runner` and sets the signed identity, bound to this backend and to this
   * transaction's start: a value read from anywhere (a log, another session) is refused by every other
   * transaction, and a value of a committed transaction by the next one on the same connection. The value
   * travels only as a bound parameter, never in the SQL text (`pg_stat_activity` shows the text of every
   * connection of the same role). Three statements: BEGIN, the transaction's pid and start, set_config.
   */
  async begin(runner: QueryRunner, principal: ZeroTrustPrincipal, nowMs: number): Promise<void> {
    await runner.startTransaction();
    await this.apply(runner, principal, nowMs);
  }

  /** Sets the signed identity for the transaction `runner` is in. */
  async apply(runner: QueryRunner, principal: ZeroTrustPrincipal, nowMs: number): Promise<void> {
    const [row] = (await runner.query(`SELECT pg_backend_pid() AS pid, ${TRANSACTION_START} AS t`)) as Array<{ pid: number | string; t: string }>;
    const value = this.sign(principal, Number(row.pid), String(row.t), nowMs);
    await runner.query(`SELECT set_config('${RLS_IDENTITY_SETTING}', $1, true)`, [value]);
  }

  sign(principal: Pick<ZeroTrustPrincipal, 'ownerId' | 'issuer' | 'scopes'>, pid: number, transactionStart: string, nowMs: number): string {
    const payload = Buffer.from(
      // `s` is the owner id (issuer and subject for an external principal), what owner columns hold.
      JSON.stringify({ s: principal.ownerId, i: principal.issuer, c: principal.scopes, e: Math.floor(nowMs / 1000) + IDENTITY_TTL_SECONDS, p: pid, t: transactionStart }),
      'utf8',
    ).toString('hex');
    const inner = createHash('sha256').update(payload, 'utf8').digest();
    return `${payload}.${createHash('sha256').update(Buffer.concat([this.key, inner])).digest('hex')}`;
  }
}

const identities = new WeakMap<DataSource, RlsIdentity>();

/** The module registers the identity signer of the DataSource it serves (see DataSourceRef). */
export const RlsIdentities = {
  register(dataSource: DataSource, identity: RlsIdentity): void {
    identities.set(dataSource, identity);
  },
  for(dataSource: DataSource): RlsIdentity | undefined {
    return identities.get(dataSource);
  },
};

import { createHash } from 'node:crypto';
import type { DataSource, QueryRunner } from 'typeorm';
import type { ZeroTrustPrincipal } from '../core/principal.interface.js';

/** The one setting row-level-security policies read, through the owner's `zt_identity()` function. */
export const RLS_IDENTITY_SETTING = 'zero_trust.identity';
/** How long a signed identity is good for, in seconds: well past any transaction's start, never a second session. */
const IDENTITY_TTL_SECONDS = 300;
export const MIN_IDENTITY_KEY_BYTES = 32;
/** What sign() produces: hex(payload) '.' hex(mac). */
const SIGNED_IDENTITY = /^[0-9a-f]+\.[0-9a-f]{64}$/;

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
  private readonly pids = new WeakMap<object, number>();

  constructor(private readonly key: Buffer) {}

  /** Sets the signed identity for the transaction `runner` is in (one statement; the pid is asked once per connection). */
  async apply(runner: QueryRunner, principal: ZeroTrustPrincipal, nowMs: number): Promise<void> {
    const value = this.sign(principal, await this.pidOf(runner), nowMs);
    await runner.query(`SELECT set_config('${RLS_IDENTITY_SETTING}', $1, true)`, [value]);
  }

  /**
   * Opens the transaction on `runner` and sets the signed identity in the same round trip: both
   * statements travel in one simple-protocol message (a parameterless query), so a request with row-level
   * security pays START TRANSACTION + set_config once instead of twice. TypeORM's own `startTransaction`
   * still runs (its state and subscribers' events stay right); only its START TRANSACTION carries the
   * set_config. Two round trips as before when the DataSource sets an isolation level (SET TRANSACTION
   * must come before any other statement) or TypeORM sends something else (another version).
   */
  async begin(runner: QueryRunner, principal: ZeroTrustPrincipal, nowMs: number): Promise<void> {
    if (runner.connection.options.isolationLevel) {
      await runner.startTransaction();
      return this.apply(runner, principal, nowMs);
    }
    const value = this.sign(principal, await this.pidOf(runner), nowMs);
    // Inlined, not bound: hex and one dot only, checked here, so the literal cannot end early.
    if (!SIGNED_IDENTITY.test(value)) throw new Error('the signed row-level-security identity is not hex: refusing to inline it');
    const query = runner.query;
    let sent = false;
    runner.query = ((sql: string, ...rest: unknown[]) => {
      if (sql !== 'START TRANSACTION' || sent) return query.call(runner, sql, ...(rest as []));
      sent = true;
      return query.call(runner, `START TRANSACTION; SELECT set_config('${RLS_IDENTITY_SETTING}', '${value}', true)`);
    }) as QueryRunner['query'];
    try {
      await runner.startTransaction();
    } finally {
      delete (runner as { query?: unknown }).query;
    }
    if (!sent) await runner.query(`SELECT set_config('${RLS_IDENTITY_SETTING}', $1, true)`, [value]);
  }

  sign(principal: Pick<ZeroTrustPrincipal, 'ownerId' | 'issuer' | 'scopes'>, pid: number, nowMs: number): string {
    const payload = Buffer.from(
      // `s` is the owner id (issuer and subject for an external principal), what owner columns hold.
      JSON.stringify({ s: principal.ownerId, i: principal.issuer, c: principal.scopes, e: Math.floor(nowMs / 1000) + IDENTITY_TTL_SECONDS, p: pid }),
      'utf8',
    ).toString('hex');
    const inner = createHash('sha256').update(payload, 'utf8').digest();
    return `${payload}.${createHash('sha256').update(Buffer.concat([this.key, inner])).digest('hex')}`;
  }

  private async pidOf(runner: QueryRunner): Promise<number> {
    // A pooled connection keeps its backend: ask once, then the request pays no extra round trip.
    const connection = (runner as unknown as { databaseConnection?: object }).databaseConnection;
    const known = connection ? this.pids.get(connection) : undefined;
    if (known !== undefined) return known;
    const [row] = (await runner.query('SELECT pg_backend_pid() AS pid')) as Array<{ pid: number | string }>;
    const pid = Number(row.pid);
    if (connection) this.pids.set(connection, pid);
    return pid;
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

import { hash } from 'node:crypto';
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
 * `hex(json{s: subject, i: issuer, c: scopes, e: expiry, p: backend pid, t: transaction start}) . hex(sha256(key || sha256(payload)))`
 * and the policies call `zt_identity()`, a SECURITY DEFINER function of the owner role that recomputes
 * the MAC with the key from a table only the owner can read (PostgreSQL's built-in `sha256()`; no
 * extension, so PGlite runs it too). The key lives in the app's configuration and in that table, never
 * where the runtime role can read it. A value copied from another connection fails the pid check, one
 * of an earlier transaction of the same connection the start check, an old one the expiry; `sha256(key || sha256(payload))` has a fixed-length inner message, so SHA-256
 * length extension cannot stretch a MAC to another payload.
 */
export class RlsIdentity {
  constructor(private readonly key: Buffer) {}

  /**
   * Opens the transaction on `runner` and sets the signed identity, bound to this backend and to this
   * transaction's start: a value read from anywhere (a log, another session) is refused by every other
   * transaction, and a value of a committed transaction by the next one on the same connection. The value
   * travels only as a bound parameter, never in the SQL text (`pg_stat_activity` shows the text of every
   * connection of the same role). Two round trips: BEGIN together with the read of the transaction's pid
   * and start (one simple-protocol message: it carries no secret, so nothing in its text is worth reading),
   * then set_config with the signed value as a bound parameter.
   */
  async begin(runner: QueryRunner, principal: ZeroTrustPrincipal, nowMs: number): Promise<void> {
    const binding = await startTransactionReadingBinding(runner);
    if (binding) await this.set(runner, principal, binding, nowMs);
    else await this.apply(runner, principal, nowMs);
  }

  /** Sets the signed identity for the transaction `runner` is in. */
  async apply(runner: QueryRunner, principal: ZeroTrustPrincipal, nowMs: number): Promise<void> {
    const [row] = (await runner.query(READ_BINDING)) as TransactionBinding[];
    await this.set(runner, principal, row, nowMs);
  }

  private async set(runner: QueryRunner, principal: ZeroTrustPrincipal, binding: TransactionBinding, nowMs: number): Promise<void> {
    const value = this.sign(principal, Number(binding.pid), String(binding.t), nowMs);
    await runner.query(SET_IDENTITY, [value]);
  }

  sign(principal: Pick<ZeroTrustPrincipal, 'ownerId' | 'issuer' | 'scopes'>, pid: number, transactionStart: string, nowMs: number): string {
    const payload = Buffer.from(
      // `s` is the owner id (issuer and subject for an external principal), what owner columns hold.
      JSON.stringify({ s: principal.ownerId, i: principal.issuer, c: principal.scopes, e: Math.floor(nowMs / 1000) + IDENTITY_TTL_SECONDS, p: pid, t: transactionStart }),
      'utf8',
    ).toString('hex');
    // One-shot hashing (crypto.hash): the same digests as createHash, without two hash objects per request.
    const inner = hash('sha256', payload, 'buffer');
    return `${payload}.${hash('sha256', Buffer.concat([this.key, inner]), 'hex')}`;
  }
}

interface TransactionBinding {
  pid: number | string;
  t: string;
}

const READ_BINDING = `SELECT pg_backend_pid() AS pid, ${TRANSACTION_START} AS t`;
const BEGIN_READING_BINDING = `START TRANSACTION; ${READ_BINDING}`;
const SET_IDENTITY = `SELECT set_config('${RLS_IDENTITY_SETTING}', $1, true)`;

/**
 * `runner.startTransaction()`, with its START TRANSACTION sent together with the read of the pid and
 * transaction start in one simple-protocol message (one round trip instead of two). TypeORM keeps its
 * own bookkeeping and events (it is its startTransaction that runs); only the text of its BEGIN
 * changes. TypeORM's query() cannot return the rows of a multi-statement message from node-postgres
 * (an array of results), so that one message goes to the driver connection directly and is logged
 * like any other query. Returns undefined when the merge does not apply (a savepoint inside an open
 * transaction, or an isolation level TypeORM must set right after BEGIN): the caller reads the binding
 * with a statement of its own then.
 */
async function startTransactionReadingBinding(runner: QueryRunner): Promise<TransactionBinding | undefined> {
  if (runner.isTransactionActive || runner.dataSource.options.isolationLevel) {
    await runner.startTransaction();
    return undefined;
  }
  const connection = (await runner.connect()) as { query(sql: string): Promise<unknown> };
  const override = runner as { query: QueryRunner['query'] };
  const query = override.query;
  const ownQuery = Object.prototype.hasOwnProperty.call(runner, 'query');
  let binding: TransactionBinding | undefined;
  override.query = async function (this: QueryRunner, sql: string, parameters?: unknown[], structured?: boolean) {
    if (sql !== 'START TRANSACTION' || binding) return (query as (...args: unknown[]) => Promise<unknown>).call(this, sql, parameters, structured);
    runner.dataSource.logger.logQuery(BEGIN_READING_BINDING, undefined, runner);
    const raw = (await connection.query(BEGIN_READING_BINDING)) as { rows?: TransactionBinding[] } | Array<{ rows?: TransactionBinding[] }>;
    binding = (Array.isArray(raw) ? raw.at(-1) : raw)?.rows?.[0];
    if (!binding) throw new Error('START TRANSACTION returned no backend pid and transaction start');
    return undefined;
  } as QueryRunner['query'];
  try {
    await runner.startTransaction();
  } finally {
    if (ownQuery) override.query = query;
    else delete (override as Partial<typeof override>).query;
  }
  return binding;
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

import { AsyncLocalStorage } from 'node:async_hooks';
import type { ServerResponse } from 'node:http';
import type { DataSource, EntityManager, QueryRunner } from 'typeorm';
import type { ZeroTrustPrincipal } from '../core/principal.interface.js';
import { ContextSlot, type RequestContext, RequestContexts } from '../core/request-context.js';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';
import { RlsIdentities } from './rls-identity.js';

/** The one row-level-security transaction of a request, opened on first need and ended once. */
interface RlsTransaction {
  readonly subject: string;
  readonly runner: QueryRunner;
  ended: boolean;
  /** The interceptor around the handler took it over: it commits or rolls back, whatever the socket does. */
  adopted: boolean;
  /** A guard's response already rolls it back on close (one listener per transaction). */
  watched: boolean;
}

const transactionSlot = new ContextSlot<Promise<RlsTransaction>>('zero-trust:rls-transaction');
const outsideRequests = new AsyncLocalStorage<{ manager: EntityManager; subject: string }>();

function identityFor(dataSource: DataSource) {
  const identity = RlsIdentities.for(dataSource);
  if (!identity) {
    throw new ZeroTrustConfigurationError(
      'row-level security needs the identity key: set rowLevelSecurity: { identityKey } in ZeroTrustModule (the same key the LeastPrivilegeRoleMigration stored).',
    );
  }
  return identity;
}

async function open(dataSource: DataSource, principal: ZeroTrustPrincipal): Promise<RlsTransaction> {
  const identity = identityFor(dataSource);
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await identity.begin(runner, principal, Date.now());
  } catch (error) {
    if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
    await runner.release();
    throw error;
  }
  return { subject: principal.ownerId, runner, ended: false, adopted: false, watched: false };
}

/**
 * The transaction a request runs in when row-level security is on. Its settings are local to that
 * transaction (`set_config(..., true)`), so they vanish at COMMIT and can never follow a pooled
 * connection to another request. Queries that do not go through it see no owned rows at all.
 *
 * One per request at most: the ownership check opens it (or the handler's interceptor, when no check
 * ran), the handler reuses it, the interceptor commits it before the response is sent; a denial or an
 * error rolls it back. A call of another transport (a GraphQL field, a WebSocket or RPC message) has a
 * context of its own, so parallel fields never share a transaction; with no response whose close could
 * end one left open, its ownership check runs in `run` and only the interceptor uses `enter`.
 */
export const RlsContext = {
  /** The current request's transactional EntityManager, once its row-level-security transaction is open. */
  manager(): EntityManager | undefined {
    const context = RequestContexts.current();
    const settled = context ? settledTransactions.get(context) : undefined;
    if (settled && !settled.ended) return settled.runner.manager;
    // A `run` transaction reaches everything its work triggers in the same async flow, including code
    // that runs for another caller (an in-process event delivered to another user's subscription, a
    // listener of another request): it is handed out only where no other principal is current.
    const outside = outsideRequests.getStore();
    if (outside && context?.principal && context.principal.ownerId !== outside.subject) return undefined;
    return outside?.manager;
  },

  /**
   * Opens the request's transaction for `principal` if it is not open yet, and returns its manager.
   * `owner`: who ends it. The interceptor around the handler adopts it (it commits before the response);
   * a guard passes the response, so that if a later guard or pipe refuses the request before the
   * interceptor runs, the transaction is rolled back and its connection released when the response
   * closes, instead of staying idle in transaction until the pool runs dry.
   */
  async enter(
    context: RequestContext,
    dataSource: DataSource,
    principal: ZeroTrustPrincipal,
    owner?: { adopt: true } | { response: ServerResponse },
  ): Promise<EntityManager> {
    let pending = transactionSlot.get(context);
    if (!pending) {
      pending = open(dataSource, principal);
      transactionSlot.set(context, pending);
      pending.then((transaction) => settledTransactions.set(context, transaction), () => transactionSlot.set(context, undefined));
    }
    const transaction = await pending;
    if (transaction.ended) throw new Error('the row-level-security transaction of this request has already ended');
    if (transaction.subject !== principal.ownerId) throw new Error('one request cannot act for two principals');
    if (owner && 'adopt' in owner) transaction.adopted = true;
    else if (owner && !transaction.watched) {
      transaction.watched = true;
      owner.response.once('close', () => {
        if (!transaction.adopted) void RlsContext.end(context, 'rollback').catch(() => undefined);
      });
    }
    return transaction.runner.manager;
  },

  /** Commits (or rolls back) and releases the request's transaction, if one was opened. Idempotent. */
  async end(context: RequestContext, outcome: 'commit' | 'rollback'): Promise<void> {
    const pending = transactionSlot.get(context);
    if (!pending) return;
    const transaction = await pending.catch(() => undefined);
    if (!transaction || transaction.ended) return;
    transaction.ended = true;
    try {
      if (outcome === 'commit') await transaction.runner.commitTransaction();
      else await transaction.runner.rollbackTransaction();
    } catch (error) {
      if (outcome === 'commit' && transaction.runner.isTransactionActive) await transaction.runner.rollbackTransaction().catch(() => undefined);
      throw error;
    } finally {
      await transaction.runner.release();
    }
  },

  /**
   * Outside a request (a job, a script), or for a short piece of a call that must not outlive it (the
   * ownership check of a GraphQL field or a message): runs `work` in its own transaction carrying the
   * principal's id and scopes, ended before this returns (joins the current one if it is for the same principal).
   */
  async run<T>(dataSource: DataSource, principal: ZeroTrustPrincipal, work: (manager: EntityManager) => Promise<T>): Promise<T> {
    const current = outsideRequests.getStore();
    if (current?.subject === principal.ownerId) return work(current.manager);
    const identity = identityFor(dataSource);
    // A runner of its own rather than dataSource.transaction(): its BEGIN carries the read of the pid and
    // transaction start the identity is bound to (RlsIdentity.begin), one round trip fewer.
    const runner = dataSource.createQueryRunner();
    await runner.connect();
    try {
      await identity.begin(runner, principal, Date.now());
      const manager = runner.manager;
      const result = await outsideRequests.run({ manager, subject: principal.ownerId }, () => work(manager));
      await runner.commitTransaction();
      return result;
    } catch (error) {
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
      throw error;
    } finally {
      await runner.release();
    }
  },
};

/** Transactions whose opening finished, for the synchronous `manager()`. */
const settledTransactions = new WeakMap<RequestContext, RlsTransaction>();

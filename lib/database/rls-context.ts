import { AsyncLocalStorage } from 'node:async_hooks';
import type { DataSource, EntityManager, QueryRunner } from 'typeorm';
import type { ZeroTrustPrincipal } from '../core/principal.interface.js';
import { ContextSlot, type RequestContext, RequestContexts } from '../core/request-context.js';
import { RLS_SCOPES_SETTING, RLS_USER_SETTING } from './least-privilege-role.migration.js';

/** The one row-level-security transaction of a request, opened on first need and ended once. */
interface RlsTransaction {
  readonly subject: string;
  readonly runner: QueryRunner;
  ended: boolean;
}

const transactionSlot = new ContextSlot<Promise<RlsTransaction>>('zero-trust:rls-transaction');
const outsideRequests = new AsyncLocalStorage<{ manager: EntityManager; subject: string }>();

const SET_IDENTITY = `SELECT set_config('${RLS_USER_SETTING}', $1, true), set_config('${RLS_SCOPES_SETTING}', $2, true)`;

async function open(dataSource: DataSource, principal: ZeroTrustPrincipal): Promise<RlsTransaction> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.startTransaction();
    await runner.query(SET_IDENTITY, [principal.subject, principal.scopes.join(' ')]);
  } catch (error) {
    if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
    await runner.release();
    throw error;
  }
  return { subject: principal.subject, runner, ended: false };
}

/**
 * The transaction a request runs in when row-level security is on. Its settings are local to that
 * transaction (`set_config(..., true)`), so they vanish at COMMIT and can never follow a pooled
 * connection to another request. Queries that do not go through it see no owned rows at all.
 *
 * One per request at most: the ownership check opens it (or the handler's interceptor, when no check
 * ran), the handler reuses it, the interceptor commits it before the response is sent; a denial or an
 * error rolls it back.
 */
export const RlsContext = {
  /** The current request's transactional EntityManager, once its row-level-security transaction is open. */
  manager(): EntityManager | undefined {
    const context = RequestContexts.current();
    const settled = context ? settledTransactions.get(context) : undefined;
    if (settled && !settled.ended) return settled.runner.manager;
    return outsideRequests.getStore()?.manager;
  },

  /** Opens the request's transaction for `principal` if it is not open yet, and returns its manager. */
  async enter(context: RequestContext, dataSource: DataSource, principal: ZeroTrustPrincipal): Promise<EntityManager> {
    let pending = transactionSlot.get(context);
    if (!pending) {
      pending = open(dataSource, principal);
      transactionSlot.set(context, pending);
      pending.then((transaction) => settledTransactions.set(context, transaction), () => transactionSlot.set(context, undefined));
    }
    const transaction = await pending;
    if (transaction.ended) throw new Error('the row-level-security transaction of this request has already ended');
    if (transaction.subject !== principal.subject) throw new Error('one request cannot act for two principals');
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
   * Outside a request (a job, a script): runs `work` in its own transaction carrying the principal's id
   * and scopes (joins the current one if it is for the same principal).
   */
  async run<T>(dataSource: DataSource, principal: ZeroTrustPrincipal, work: (manager: EntityManager) => Promise<T>): Promise<T> {
    const current = outsideRequests.getStore();
    if (current?.subject === principal.subject) return work(current.manager);
    return dataSource.transaction(async (manager) => {
      await manager.query(SET_IDENTITY, [principal.subject, principal.scopes.join(' ')]);
      return outsideRequests.run({ manager, subject: principal.subject }, () => work(manager));
    });
  },
};

/** Transactions whose opening finished, for the synchronous `manager()`. */
const settledTransactions = new WeakMap<RequestContext, RlsTransaction>();

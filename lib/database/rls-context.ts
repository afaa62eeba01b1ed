import { AsyncLocalStorage } from 'node:async_hooks';
import type { DataSource, EntityManager } from 'typeorm';
import type { ZeroTrustPrincipal } from '../auth/principal.interface.js';
import { RLS_SCOPES_SETTING, RLS_USER_SETTING } from './least-privilege-role.migration.js';

const storage = new AsyncLocalStorage<{ manager: EntityManager; subject: string }>();

/**
 * The transaction a request runs in when row-level security is on. Its settings are local to that
 * transaction (`set_config(..., true)`), so they vanish at COMMIT and can never follow a pooled
 * connection to another request. Queries that do not go through it see no owned rows at all.
 */
export const RlsContext = {
  /** The current request's transactional EntityManager, if it runs under row-level security. */
  manager(): EntityManager | undefined {
    return storage.getStore()?.manager;
  },

  /** Runs `work` in a transaction carrying the principal's id and scopes (joins the current one if any). */
  async run<T>(dataSource: DataSource, principal: ZeroTrustPrincipal, work: (manager: EntityManager) => Promise<T>): Promise<T> {
    const current = storage.getStore();
    if (current?.subject === principal.subject) return work(current.manager);
    return dataSource.transaction(async (manager) => {
      await manager.query(`SELECT set_config('${RLS_USER_SETTING}', $1, true), set_config('${RLS_SCOPES_SETTING}', $2, true)`, [
        principal.subject,
        principal.scopes.join(' '),
      ]);
      return storage.run({ manager, subject: principal.subject }, () => work(manager));
    });
  },
};

import { PlanPart } from '../core/route-plan.js';
import { RECENT_AUTH_KEY } from './accounts.constants.js';

export interface RecentAuthRequirement {
  /** Seconds; when left out, `accounts.reauthenticationMaxAge`. */
  readonly maxAge?: number;
}

/** `@RequireRecentAuth()` of the handler or, failing that, of its controller; `undefined` when neither has it. */
export const ACCOUNTS_PLAN = new PlanPart<RecentAuthRequirement | undefined>('accounts', (route) => route.override<RecentAuthRequirement>(RECENT_AUTH_KEY));

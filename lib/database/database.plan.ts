import { PlanPart } from '../core/route-plan.js';
import { ROW_LEVEL_SECURITY_KEY } from './database.constants.js';

/** Whether the route reads or writes owned rows (`@RowLevelSecurity()`, `@OwnsResource`, `@Owned`). */
export const RLS_PLAN = new PlanPart<boolean>('row-level-security', (route) => route.override<boolean>(ROW_LEVEL_SECURITY_KEY) === true);

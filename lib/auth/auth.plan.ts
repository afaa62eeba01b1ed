import { PlanPart } from '../core/route-plan.js';
import { IS_PUBLIC_KEY } from './auth.constants.js';

export interface AuthPlan {
  /** `@Public()` on the handler or its controller: no token needed. */
  readonly isPublic: boolean;
}

export const AUTH_PLAN = new PlanPart<AuthPlan>('auth', (route) => ({ isPublic: route.override<boolean>(IS_PUBLIC_KEY) === true }));

import { PlanPart } from '../core/route-plan.js';
import { REQUIRE_SENDER_CONSTRAINT_KEY } from './sender-constraint.constants.js';

export interface SenderConstraintPlan {
  /** `@RequireSenderConstraint()` on the handler or controller: true or false; undefined when neither says. */
  readonly required: boolean | undefined;
}

export const SENDER_CONSTRAINT_PLAN = new PlanPart<SenderConstraintPlan>('sender-constraint', (route) => ({
  required: route.override<boolean>(REQUIRE_SENDER_CONSTRAINT_KEY),
}));

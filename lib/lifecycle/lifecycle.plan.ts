import { PlanPart } from '../core/route-plan.js';
import { PROOF_OF_WORK_KEY } from './lifecycle.constants.js';

export interface ProofOfWorkRequirement {
  /** What the work buys (`register`, `password_reset`, `login`): a challenge solved for one action is refused by the others. */
  readonly action: string;
  /** Ask for work only after `failuresBeforeChallenge` authentication failures of the client address (login). */
  readonly afterFailures: boolean;
  /** The body field that names the account (`email`): its flag, if any, raises the difficulty. */
  readonly accountField?: string;
}

/** `@ProofOfWork()` of the handler, else of its controller; `undefined` when neither has it. */
export const LIFECYCLE_PLAN = new PlanPart<ProofOfWorkRequirement | undefined>('lifecycle', (route) => route.override<ProofOfWorkRequirement>(PROOF_OF_WORK_KEY));

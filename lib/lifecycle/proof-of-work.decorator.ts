import { applyDecorators, SetMetadata, UseGuards } from '@nestjs/common';
import { PROOF_OF_WORK_KEY } from './lifecycle.constants.js';
import type { ProofOfWorkRequirement } from './lifecycle.plan.js';
import { ProofOfWorkGuard } from './proof-of-work.guard.js';

export interface ProofOfWorkOptions {
  /** What the work buys; a challenge must be asked for this action. Default `'default'`. */
  action?: string;
  /** Ask only after `lifecycle.proofOfWork.failuresBeforeChallenge` authentication failures of the client address (logins). Default false. */
  afterFailures?: boolean;
  /** The body field naming the account (`'email'`), whose flag raises the difficulty. */
  accountField?: string;
}

/**
 * The route needs proof of work (ALTCHA, see `ProofOfWorkService`): a solved challenge of `action` in
 * the `X-Altcha` header or the `altcha` body field, accepted once. Put it on what bots script: account
 * creation, password-reset requests, logins after failures. Runs after authentication and throttling.
 */
export function ProofOfWork(options: ProofOfWorkOptions = {}): MethodDecorator & ClassDecorator {
  const action = options.action ?? 'default';
  if (!/^[a-z][a-z0-9_.-]{0,63}$/.test(action)) throw new TypeError(`@ProofOfWork({ action }) takes a lower-case name such as 'register' (got ${JSON.stringify(action)})`);
  const requirement: ProofOfWorkRequirement = { action, afterFailures: options.afterFailures === true, ...(options.accountField ? { accountField: options.accountField } : {}) };
  return applyDecorators(SetMetadata(PROOF_OF_WORK_KEY, requirement), UseGuards(ProofOfWorkGuard));
}

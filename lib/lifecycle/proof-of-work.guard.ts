import { type CanActivate, type ExecutionContext, ForbiddenException, Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { RequestContexts, rawRequest } from '../core/request-context.js';
import { RoutePlans } from '../core/route-plan.js';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';
import { LIFECYCLE_CONFIG } from './lifecycle.internal-constants.js';
import type { LifecycleConfig } from './lifecycle.options.js';
import { LIFECYCLE_PLAN } from './lifecycle.plan.js';
import { ProofOfWorkService } from './proof-of-work.service.js';

/** The header a JSON client sends the ALTCHA payload in; a form (the widget's own) sends the `altcha` field. */
export const PROOF_OF_WORK_HEADER = 'x-altcha';
export const PROOF_OF_WORK_FIELD = 'altcha';

/**
 * Enforces `@ProofOfWork()`: the request carries a solved, unexpired, unspent challenge of this route's
 * action (header `X-Altcha`, or the body field `altcha` the widget submits), or gets 403 before the
 * handler runs. The `altcha` field is taken out of the body here, so DTOs never declare it and the
 * whitelist validation still refuses every other unknown field.
 */
@Injectable()
export class ProofOfWorkGuard implements CanActivate, OnModuleInit {
  constructor(
    private readonly plans: RoutePlans,
    private readonly proofOfWork: ProofOfWorkService,
    @Inject(LIFECYCLE_CONFIG) private readonly config: LifecycleConfig | false,
  ) {
    plans.register(LIFECYCLE_PLAN);
  }

  onModuleInit(): void {
    if (this.config === false) {
      throw new ZeroTrustConfigurationError('@ProofOfWork() is used but the `lifecycle` option is off: turn it on (`lifecycle: { registry, links, proofOfWork: { hmacKey } }`).');
    }
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const requirement = this.plans.of(context).get(LIFECYCLE_PLAN);
    if (!requirement) return true;
    const request = this.getRequest(context);
    const body = (request as { body?: unknown }).body;
    const fields = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;
    const fromBody = fields?.[PROOF_OF_WORK_FIELD];
    if (fields && Object.hasOwn(fields, PROOF_OF_WORK_FIELD)) delete fields[PROOF_OF_WORK_FIELD];
    const ip = RequestContexts.of(request).clientIp;
    if (requirement.afterFailures && !(await this.proofOfWork.afterFailures(ip))) return true;
    const header = rawRequest(request).headers[PROOF_OF_WORK_HEADER];
    const account = requirement.accountField && typeof fields?.[requirement.accountField] === 'string' ? (fields[requirement.accountField] as string) : undefined;
    const failure = await this.proofOfWork.verify(typeof header === 'string' ? header : fromBody, { action: requirement.action, ip, account });
    if (failure) this.throwProofRequired();
    return true;
  }

  /** The request of this context (override for another transport). */
  protected getRequest(context: ExecutionContext): object {
    return context.switchToHttp().getRequest<object>();
  }

  /** One answer for every refusal (missing, forged, expired, replayed...): the audit event has the reason. */
  protected throwProofRequired(): never {
    throw new ForbiddenException('Proof of work required: solve a challenge from the challenge endpoint and send it in X-Altcha');
  }
}

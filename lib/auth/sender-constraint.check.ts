import { type ExecutionContext, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { timingSafeEqual } from 'node:crypto';
import { AuditService } from '../audit/audit.service.js';
import type { ZeroTrustPrincipal } from '../core/principal.interface.js';
import { RequestContexts, rawRequest, rawResponse } from '../core/request-context.js';
import { requestView } from '../core/request-view.js';
import { RoutePlans } from '../core/route-plan.js';
import { bearerToken } from './bearer-token.js';
import { clientCertificateThumbprint } from './client-certificate.js';
import { DpopProofVerifier } from './dpop-proof.verifier.js';
import { DpopRejection } from './dpop-rejection.js';
import { SENDER_CONSTRAINT_CONFIG } from './sender-constraint.internal-constants.js';
import type { SenderConstraintConfig } from './sender-constraint.options.js';
import { SENDER_CONSTRAINT_PLAN } from './sender-constraint.plan.js';

const DPOP_SCHEME = /^dpop[ \t]/i;

/** The guard's 401 for a refused binding: the uniform body, the typed reason kept for whoever subclasses. */
export class SenderConstraintRejected extends UnauthorizedException {
  constructor(readonly rejection: DpopRejection) {
    super();
  }
}

/**
 * The second half of authentication for a token that verified: is the caller the party the token was
 * issued to? Called by the guard after every accepted token, from the verified-token cache too, since
 * a proof is per request and a cached token proves nothing by itself.
 *
 * - a token with `cnf.jkt` (RFC 9449 §6) needs the `DPoP` scheme and a valid proof signed by that key;
 * - a token without `cnf` presented with the `DPoP` scheme is refused (the client believes it is bound);
 * - a token with another `cnf` member this app cannot check is refused, never taken as a bearer token;
 * - a bearer token on a route that requires a sender constraint (`@RequireSenderConstraint()` or
 *   `senderConstraint.require`) is refused.
 *
 * Failures are audited as `auth.failure` with their reason and answered with RFC 9449 §7.1 challenges.
 */
@Injectable()
export class SenderConstraintCheck {
  private readonly algs: string;
  /** RFC 9449 §7.1 challenges of a route that requires a sender constraint, computed once. */
  private readonly strictChallenges: { readonly missing: string; readonly invalid: string; readonly invalidBearer: string };
  /** Whether certificate-bound tokens (RFC 8705: Bearer scheme) can be checked without a TLS socket of our own. */
  private readonly certificateHeader: boolean;

  constructor(
    @Inject(SENDER_CONSTRAINT_CONFIG) private readonly config: SenderConstraintConfig,
    private readonly dpop: DpopProofVerifier,
    private readonly plans: RoutePlans,
    private readonly audit: AuditService,
  ) {
    plans.register(SENDER_CONSTRAINT_PLAN);
    this.algs = `algs="${dpop.algs}"`;
    this.certificateHeader = config.mtls.certificateHeader !== undefined;
    this.strictChallenges = {
      missing: `DPoP ${this.algs}`,
      invalid: `DPoP error="invalid_token", ${this.algs}`,
      invalidBearer: `Bearer error="invalid_token", DPoP ${this.algs}`,
    };
  }

  /**
   * The `WWW-Authenticate` value of a 401 the guard gives before any token was accepted, or `undefined`
   * for the plain Bearer challenge. RFC 9449 §7.1: a route that accepts only sender-constrained tokens
   * names the DPoP scheme and its algorithms; the Bearer scheme as well when certificate-bound tokens
   * (RFC 8705 §3, sent with the Bearer scheme) can be checked there: a client certificate header from a
   * trusted proxy, or a TLS connection of our own.
   */
  challenge(context: ExecutionContext, request: object | undefined, missing: boolean): string | undefined {
    if (!this.config.enabled || !(this.plans.of(context).get(SENDER_CONSTRAINT_PLAN).required ?? this.config.require)) return undefined;
    const raw = request ? rawRequest(request) : undefined;
    const bearerAllowed = this.certificateHeader || (raw?.socket as { encrypted?: boolean } | undefined)?.encrypted === true;
    if (missing) return bearerAllowed ? `Bearer, ${this.strictChallenges.missing}` : this.strictChallenges.missing;
    // An invalid token: the error goes on the scheme the client used.
    if (bearerAllowed && !DPOP_SCHEME.test(String(raw?.headers.authorization ?? ''))) return this.strictChallenges.invalidBearer;
    return bearerAllowed ? `Bearer, ${this.strictChallenges.invalid}` : this.strictChallenges.invalid;
  }

  /**
   * One verification per HTTP request: a GraphQL request runs the guard once per field, and its one
   * proof must not count as its own replay from the second field on (nor be checked again).
   */
  private readonly proofs = new WeakMap<object, { token: string; result: Promise<unknown> }>();

  /**
   * Resolves true when the request may proceed; throws the uniform 401 otherwise. `request` is the HTTP
   * request carrying the call (for GraphQL, the one behind the resolver).
   */
  enforce(context: ExecutionContext, request: object): true | Promise<true> {
    // The guard accepted the principal into the call's own context (per GraphQL field, not per HTTP request).
    const principal = RequestContexts.current()?.principal ?? (request as { user?: ZeroTrustPrincipal }).user;
    // Nothing accepted means nothing to bind: the guard's own checks answer that case.
    if (!principal) return true;
    const response = requestView(context)?.httpResponse;
    // Synchronous unless a DPoP proof must be verified (issue 16: a bearer token's check made three
    // promises per request). A refusal is thrown here or rejected from the proof's promise, the same way.
    let bound: boolean | Promise<boolean>;
    try {
      bound = this.check(context, request, principal);
    } catch (error) {
      return this.failed(error, response, principal);
    }
    if (bound === false) return true;
    if (bound === true) return this.accepted(response);
    return bound.then(
      () => this.accepted(response),
      (error: unknown) => this.failed(error, response, principal),
    );
  }

  private accepted(response: object | undefined): true {
    if (response) this.dpop.sendNonce(response);
    return true;
  }

  private failed(error: unknown, response: object | undefined, principal: ZeroTrustPrincipal): never {
    if (!(error instanceof DpopRejection)) throw error;
    this.refuse(response, principal, error);
  }

  /**
   * Whether a principal's token is sender-constrained (carries `cnf`). For transports without a proof
   * of possession per message (WebSocket messages, microservice messages): such a token must be refused
   * there, or a stolen bound token would work as a bearer token on them.
   */
  isBound(principal: ZeroTrustPrincipal): boolean {
    return principal.claims.cnf !== undefined;
  }

  /** True when the token was sender-constrained and its proof held (a promise while a DPoP proof is verified). */
  private check(context: ExecutionContext, request: object, principal: ZeroTrustPrincipal): boolean | Promise<true> {
    const dpopScheme = DPOP_SCHEME.test(String(rawRequest(request).headers.authorization ?? ''));
    const cnf = principal.claims.cnf;
    if (cnf !== undefined) {
      const members = typeof cnf === 'object' && cnf !== null && !Array.isArray(cnf) ? (cnf as Record<string, unknown>) : {};
      const jkt = members.jkt;
      const x5t = members['x5t#S256'];
      // A confirmation this app cannot check is not a bearer token in disguise: refuse it (RFC 7800 §3.1).
      if (Object.keys(members).length === 0 || Object.keys(members).some((name) => name !== 'jkt' && name !== 'x5t#S256') || (jkt !== undefined && typeof jkt !== 'string') || (x5t !== undefined && typeof x5t !== 'string')) {
        throw new DpopRejection('unsupported_confirmation', 'the token is bound by a cnf member this app does not check');
      }
      if (!this.config.enabled) throw new DpopRejection('dpop_disabled', 'a sender-constrained token, and sender constraints are turned off');
      if (typeof x5t === 'string') this.checkCertificate(request, x5t);
      if (typeof jkt !== 'string') {
        if (dpopScheme) throw new DpopRejection('dpop_scheme_unbound_token', 'the DPoP scheme with a token that is not DPoP-bound');
        return true;
      }
      // RFC 9449 §7.2: a DPoP-bound token sent as a bearer token is refused, or a proxy's Bearer-only logging would leak a usable token.
      if (!dpopScheme) throw new DpopRejection('dpop_bound_token_as_bearer', 'a DPoP-bound token sent with the Bearer scheme');
      return this.proofOnce(request, jkt).then(() => true as const);
    }
    if (dpopScheme) throw new DpopRejection('dpop_scheme_unbound_token', 'the DPoP scheme with a token that is not DPoP-bound');
    const required = this.plans.of(context).get(SENDER_CONSTRAINT_PLAN).required ?? this.config.require;
    if (required) throw new DpopRejection('sender_constraint_required', 'this route accepts sender-constrained tokens only');
    return false;
  }

  private proofOnce(request: object, jkt: string): Promise<unknown> {
    const token = bearerToken(request).token ?? '';
    const raw = rawRequest(request);
    const known = this.proofs.get(raw);
    if (known?.token === token) return known.result;
    const result = this.dpop.verify(request, { accessToken: token, jkt });
    this.proofs.set(raw, { token, result });
    return result;
  }

  /** RFC 8705 §3: the certificate of this connection (or the trusted proxy's word for it) must be the one the token names. */
  private checkCertificate(request: object, expected: string): void {
    const presented = clientCertificateThumbprint(request, this.config.mtls);
    if (presented === undefined) throw new DpopRejection('mtls_certificate_missing', 'a certificate-bound token without a client certificate');
    const a = Buffer.from(presented);
    const b = Buffer.from(expected);
    if (a.length !== b.length || !timingSafeEqual(a, b)) throw new DpopRejection('mtls_certificate_mismatch', 'the client certificate is not the one the token is bound to');
  }

  private refuse(response: object | undefined, principal: ZeroTrustPrincipal, rejection: DpopRejection): never {
    this.audit.publish({
      type: 'auth.failure',
      outcome: 'failure',
      reason: rejection.reason,
      principal: { subject: principal.ownerId, sessionId: principal.sessionId },
    });
    const raw = response ? rawResponse(response) : undefined;
    // RFC 8705 §3: a certificate-bound token is a Bearer token; its refusal is the Bearer challenge.
    if (raw && !raw.headersSent) {
      raw.setHeader('WWW-Authenticate', rejection.reason.startsWith('mtls_') ? 'Bearer error="invalid_token"' : `DPoP error="${rejection.error}", ${this.algs}`);
      if (rejection.error === 'use_dpop_nonce') this.dpop.sendNonce(response!);
    }
    throw new SenderConstraintRejected(rejection);
  }
}

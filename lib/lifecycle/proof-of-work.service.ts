import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { createHash, randomInt } from 'node:crypto';
import type { AuditEvent } from '../audit/audit-event.interface.js';
import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../core/clock.js';
import { RequestContexts } from '../core/request-context.js';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';
import { addressBucket } from '../http/client-ip.js';
import { StoreFailurePolicy } from '../store/store-failure.policy.js';
import { ZERO_TRUST_STORE } from '../store/store.internal-constants.js';
import type { ZeroTrustStore } from '../store/zero-trust-store.js';
import { publishLifecycleEvent } from './lifecycle-audit.js';
import { LIFECYCLE_CONFIG } from './lifecycle.internal-constants.js';
import type { LifecycleConfig } from './lifecycle.options.js';

type Altcha = typeof import('altcha-lib');
type DeriveKey = typeof import('altcha-lib/algorithms/sha').deriveKey;

/** An ALTCHA (v2) challenge, as the widget fetches it from `challengeurl`. */
export interface ProofOfWorkChallenge {
  readonly parameters: Record<string, unknown>;
  readonly signature?: string;
}

/** Why a proof was refused (audit reason; the client always gets the same 403). */
export type ProofOfWorkFailure = 'missing' | 'malformed' | 'forged' | 'expired' | 'wrong_action' | 'too_easy' | 'wrong_solution' | 'replayed' | 'store_unavailable';

export interface ProofOfWorkContext {
  readonly action: string;
  /** The client address (bucketed by /64 for IPv6). */
  readonly ip: string;
  /** The account the request names (its login), if any: a flagged account raises the difficulty. */
  readonly account?: string;
}

/** Only what ALTCHA's widget may send: bounded, so an attacker's payload costs nothing to refuse. */
const MAX_PAYLOAD = 4096;
const ALGORITHM = 'SHA-256';

const digest = (value: string) => createHash('sha256').update(value).digest('hex');
/** The account tag the lockout and anomaly events carry (`details.account`): a hash, never the address. */
export const accountTag = (login: string) => digest(login.trim().toLowerCase()).slice(0, 12);

/**
 * Proof of work for the endpoints an attacker scripts (account creation, reset requests, logins after
 * failures), in ALTCHA's v2 format so its browser widget works unchanged: `challenge()` answers what
 * the widget fetches, `verify()` checks the base64 payload it submits.
 *
 * - Challenges are HMAC-signed (with a key signature too, so verifying costs one hash, not the work) and
 *   expire (`expiresIn`); the signed `data` names the action, so work done for one endpoint buys nothing
 *   at another, and the difficulty, so a client cannot pick an easier one.
 * - Each solution is accepted once: its signature is claimed in the shared store (`claim`, atomic, a flag never evicted),
 *   so a replay fails on every instance sharing it; when the store is down, `onStoreFailure.auth` decides.
 * - The difficulty rises for a client address or an account that the anomaly rules flagged, or that was
 *   locked out or rate-limited, for `flagDuration` (flags live in the store too).
 */
@Injectable()
export class ProofOfWorkService implements OnModuleInit {
  private readonly logger = new Logger('ZeroTrustProofOfWork');
  private altcha?: Altcha;
  private deriveKey?: DeriveKey;
  private secret = '';
  private keySecret = '';

  constructor(
    @Inject(LIFECYCLE_CONFIG) private readonly config: LifecycleConfig | false,
    @Inject(ZERO_TRUST_STORE) private readonly store: ZeroTrustStore,
    private readonly failures: StoreFailurePolicy,
    private readonly audit: AuditService,
    private readonly clock: Clock,
  ) {}

  async onModuleInit(): Promise<void> {
    if (this.config === false) return;
    try {
      this.altcha = await import('altcha-lib');
      this.deriveKey = (await import('altcha-lib/algorithms/sha')).deriveKey;
    } catch {
      throw new ZeroTrustConfigurationError('ProofOfWorkService builds ALTCHA challenges with altcha-lib: install it (npm i altcha-lib).');
    }
    const key = this.config.proofOfWork.hmacKey;
    // Two keys derived from one: the challenge signature and the derived-key signature must differ.
    this.secret = createHash('sha256').update('altcha-challenge').update(key).digest('base64url');
    this.keySecret = createHash('sha256').update('altcha-key').update(key).digest('base64url');
    this.audit.subscribe((event) => this.observe(event));
  }

  /**
   * A fresh challenge for `action`, at the difficulty this client (and account) has now. The client
   * address defaults to the current request's (under the `trustProxy` setting).
   */
  async challenge(given: Omit<ProofOfWorkContext, 'ip'> & { ip?: string }): Promise<ProofOfWorkChallenge> {
    const { altcha, deriveKey, settings } = this.ready();
    const context: ProofOfWorkContext = { ...given, ip: given.ip ?? RequestContexts.current()?.clientIp ?? 'unknown' };
    const difficulty = await this.difficultyFor(context);
    const expiresAt = Math.floor(this.clock.now() / 1000 + settings.expiresIn);
    const challenge = await altcha.createChallenge({
      algorithm: ALGORITHM,
      cost: 1,
      // Deterministic mode: the server picks the counter, so the work is uniform in [0, difficulty).
      counter: randomInt(difficulty),
      deriveKey,
      expiresAt,
      data: { action: context.action, difficulty },
      hmacSignatureSecret: this.secret,
      hmacKeySignatureSecret: this.keySecret,
    });
    return challenge as unknown as ProofOfWorkChallenge;
  }

  /**
   * Checks a payload (base64 JSON `{ challenge, solution }`, as the widget submits it) for `action` and
   * spends it. Returns `null` when accepted, else why not (nothing is spent then).
   */
  async verify(payload: unknown, context: ProofOfWorkContext): Promise<ProofOfWorkFailure | null> {
    const { altcha, deriveKey } = this.ready();
    if (payload === undefined || payload === null || payload === '') return this.refuse('missing', context);
    if (typeof payload !== 'string' || payload.length > MAX_PAYLOAD) return this.refuse('malformed', context);
    let decoded: { challenge?: { parameters?: Record<string, unknown>; signature?: unknown }; solution?: { counter?: unknown; derivedKey?: unknown } };
    try {
      decoded = JSON.parse(Buffer.from(payload, 'base64').toString('utf8'));
    } catch {
      return this.refuse('malformed', context);
    }
    const parameters = decoded?.challenge?.parameters;
    const signature = decoded?.challenge?.signature;
    const solution = decoded?.solution;
    if (!parameters || typeof parameters !== 'object' || typeof signature !== 'string' || !solution || !Number.isInteger(solution.counter) || typeof solution.derivedKey !== 'string') {
      return this.refuse('malformed', context);
    }
    if (parameters.algorithm !== ALGORITHM) return this.refuse('malformed', context);
    let result: Awaited<ReturnType<Altcha['verifySolution']>>;
    try {
      result = await altcha.verifySolution({
        challenge: { parameters: parameters as never, signature },
        solution: solution as never,
        deriveKey,
        hmacSignatureSecret: this.secret,
        hmacKeySignatureSecret: this.keySecret,
      });
    } catch {
      return this.refuse('malformed', context);
    }
    // The signature first: nothing else of an unsigned or re-signed challenge can be believed.
    if (result.invalidSignature !== false) return this.refuse('forged', context);
    const expiresAt = parameters.expiresAt;
    if (result.expired || typeof expiresAt !== 'number' || expiresAt * 1000 <= this.clock.now()) return this.refuse('expired', context);
    const data = (parameters.data ?? {}) as { action?: unknown; difficulty?: unknown };
    if (data.action !== context.action) return this.refuse('wrong_action', context);
    if (typeof data.difficulty !== 'number' || data.difficulty < (await this.difficultyFor(context))) return this.refuse('too_easy', context);
    if (!result.verified) return this.refuse('wrong_solution', context);
    // Spend it: the first claim of this signature wins, on every instance sharing the store.
    try {
      const first = await this.store.claim(`pow:spent:${digest(signature)}`, Math.max(1000, expiresAt * 1000 - this.clock.now() + 60_000));
      if (!first) return this.refuse('replayed', context);
    } catch (error) {
      this.failures.handle(error, 'auth');
      this.logger.warn('proof-of-work replay check skipped: the store did not answer (onStoreFailure.auth is open)');
    }
    return null;
  }

  /**
   * Whether the client address has had `failuresBeforeChallenge` authentication failures (audit
   * `auth.failure`) within `failureWindow`: then `@ProofOfWork({ afterFailures: true })` asks for work.
   * When the store is down: closed (503) or, open, work is asked.
   */
  async afterFailures(ip: string): Promise<boolean> {
    try {
      return (await this.store.ttl(this.failureKey(ip, 1))) > 0;
    } catch (error) {
      this.failures.handle(error, 'auth');
      return true;
    }
  }

  /** Raises the difficulty for a client address and/or an account for `flagDuration` (what the audit listener does). */
  async flag(target: { ip?: string; account?: string }): Promise<void> {
    const { settings } = this.ready();
    const ttl = settings.flagDuration * 1000;
    const keys = [target.ip ? this.ipFlag(target.ip) : undefined, target.account ? `pow:flag:account:${target.account}` : undefined].filter((key): key is string => !!key);
    await Promise.all(keys.map((key) => this.store.set(key, ttl)));
  }

  private async difficultyFor(context: ProofOfWorkContext): Promise<number> {
    const { settings } = this.ready();
    const keys = [this.ipFlag(context.ip), ...(context.account ? [`pow:flag:account:${accountTag(context.account)}`] : [])];
    try {
      const ttls = await Promise.all(keys.map((key) => this.store.ttl(key)));
      return ttls.some((ttl) => ttl > 0) ? settings.raisedDifficulty : settings.difficulty;
    } catch (error) {
      // Fail closed on auth endpoints (503); open: the raised difficulty, never the easier one.
      this.failures.handle(error, 'auth');
      return settings.raisedDifficulty;
    }
  }

  /** The module's own findings feed the difficulty: anomalies, lockouts, rate-limit hits and authentication failures. */
  private observe(event: AuditEvent): void {
    const account = typeof event.details?.account === 'string' ? event.details.account : undefined;
    const flagged =
      event.type === 'anomaly.detected' ||
      event.type === 'auth.lockout' ||
      (event.type === 'rate_limit.exceeded' && event.reason !== undefined) ||
      (event.type === ('pow.rejected' as string) && event.reason === 'replayed');
    const work: Promise<unknown>[] = [];
    if (flagged) work.push(this.flag({ ip: event.ip, account }));
    if (event.type === 'auth.failure' && event.ip && event.reason !== 'issuer_unavailable') work.push(this.countFailure(event.ip));
    for (const promise of work) promise.catch((error: unknown) => this.logger.warn(`could not record a proof-of-work flag: ${(error as Error).message}`));
  }

  /** Counts one failure; at `failuresBeforeChallenge` the address is marked as needing work for the rest of the window. */
  private async countFailure(ip: string): Promise<void> {
    const { settings } = this.ready();
    const window = settings.failureWindow * 1000;
    const count = await this.store.increment(this.failureKey(ip, 0), window);
    if (count >= settings.failuresBeforeChallenge) await this.store.set(this.failureKey(ip, 1), window);
  }

  private failureKey(ip: string, kind: 0 | 1): string {
    return `pow:${kind === 0 ? 'failures' : 'required'}:${addressBucket(ip)}`;
  }

  private ipFlag(ip: string): string {
    return `pow:flag:ip:${addressBucket(ip)}`;
  }

  private refuse(reason: ProofOfWorkFailure, context: ProofOfWorkContext): ProofOfWorkFailure {
    publishLifecycleEvent(this.audit, { type: 'pow.rejected', outcome: 'denied', reason, details: { action: context.action } });
    return reason;
  }

  private ready() {
    if (this.config === false || !this.altcha || !this.deriveKey) {
      throw new ZeroTrustConfigurationError('ProofOfWorkService needs the `lifecycle` option (`lifecycle: { registry, links }`).');
    }
    return { altcha: this.altcha, deriveKey: this.deriveKey, settings: this.config.proofOfWork };
  }
}

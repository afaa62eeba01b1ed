import { BadRequestException, ConflictException, Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { createHash } from 'node:crypto';
import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../core/clock.js';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';
import { TotpSecretCipher } from '../mfa/totp-secret.cipher.js';
import { generateRecoveryCodes, generateTotpSecret, hashRecoveryCode, totpUri, verifyTotp } from '../mfa/totp.js';
import { SessionService } from '../sessions/session.service.js';
import { StoreFailurePolicy } from '../store/store-failure.policy.js';
import { ZERO_TRUST_STORE } from '../store/store.internal-constants.js';
import type { ZeroTrustStore } from '../store/zero-trust-store.js';
import { ACCOUNTS_CONFIG } from './accounts.internal-constants.js';
import type { AccountsConfig } from './accounts.options.js';
import { isMfaStore, type MfaStore } from './mfa.store.js';
import { TypeOrmMfaStore } from './typeorm-mfa.store.js';

/** Which second factor a code proved: a TOTP code, or one of the one-time recovery codes. */
export type SecondFactor = 'otp' | 'recovery_code';

/** RFC 8176 `amr` values a proven second factor adds to a session. */
export const SECOND_FACTOR_METHODS: readonly string[] = ['otp', 'mfa'];

const TOTP_FORMAT = /^\d{6}$/;

/**
 * Second factors of the application's accounts: TOTP enrolment (RFC 6238), verification with replay
 * protection and a bound on guesses, one-time recovery codes, removal. Secrets are encrypted at rest
 * (`TotpSecretCipher`, key from configuration) and every spending write is one atomic statement of the
 * `MfaStore` port, so parallel requests with one code get one success.
 */
@Injectable()
export class MfaService implements OnApplicationBootstrap {
  private mfaStore?: MfaStore;
  private cipher?: TotpSecretCipher;

  constructor(
    @Inject(ACCOUNTS_CONFIG) private readonly config: AccountsConfig | false,
    private readonly typeOrmStore: TypeOrmMfaStore,
    private readonly moduleRef: ModuleRef,
    @Inject(ZERO_TRUST_STORE) private readonly store: ZeroTrustStore,
    private readonly failures: StoreFailurePolicy,
    private readonly sessions: SessionService,
    private readonly audit: AuditService,
    private readonly clock: Clock,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.config === false) return;
    this.cipher = new TotpSecretCipher(this.config.totpKeys);
    this.mfaStore = this.resolveStore(this.config);
    if (this.mfaStore === this.typeOrmStore) await this.typeOrmStore.assertTables();
  }

  /** Whether the subject has an active second factor (a pending enrolment does not count). */
  async isEnabled(subject: string): Promise<boolean> {
    return Boolean((await this.port().find(subject))?.secret);
  }

  async remainingRecoveryCodes(subject: string): Promise<number> {
    return this.port().remainingRecoveryCodes(subject);
  }

  /**
   * Starts an enrolment: a new secret, stored encrypted as pending, returned once for the authenticator
   * app. With MFA already on, this is a reset: the active factor stays in force until the new one is
   * confirmed. Route it behind `@RequireRecentAuth()`: a stolen access token must not enrol its holder's
   * authenticator.
   */
  async beginEnrolment(subject: string, label: { issuer: string; account: string }): Promise<{ otpauthUri: string; secret: string }> {
    const secret = generateTotpSecret();
    await this.port().savePending(subject, this.keys().encrypt(secret, subject));
    return { otpauthUri: totpUri({ secret, account: label.account, issuer: label.issuer }), secret };
  }

  /**
   * The first valid code of the pending secret makes it the active factor and yields new one-time
   * recovery codes (shown only now, stored hashed). Every other session of the subject is revoked:
   * whoever held one before the second factor existed must now prove it.
   */
  async confirmEnrolment(subject: string, code: unknown, currentSessionId?: string): Promise<{ recoveryCodes: string[] }> {
    const record = await this.port().find(subject);
    const pending = record?.pendingSecret ? this.keys().decrypt(record.pendingSecret, subject) : null;
    if (!record?.pendingSecret || pending === null) throw new BadRequestException('Start enrollment first');
    const step = verifyTotp(pending, code, { nowMs: this.clock.now() });
    const { codes, hashes } = generateRecoveryCodes();
    if (step === null || !(await this.port().activate(subject, record.pendingSecret, step, hashes))) {
      this.audit.publish({ type: 'mfa.failure', outcome: 'failure', reason: 'invalid_enrollment_code', principal: { subject, sessionId: currentSessionId } });
      throw new BadRequestException('Invalid code');
    }
    await this.sessions.revokeAll(subject, 'mfa_enrolled', { except: currentSessionId });
    this.audit.publish({ type: 'mfa.enrolled', outcome: 'success', principal: { subject, sessionId: currentSessionId } });
    return { recoveryCodes: codes };
  }

  /**
   * Checks a second-factor code: a TOTP code (stored step compare-and-set, so a code is good once) or a
   * recovery code (spent by one conditional UPDATE). At most `codeGuesses.limit` codes per account per
   * window are even looked at, from any address: past it every code is refused, the right one too,
   * until a whole sign-in succeeds (`settle`) or the window ends. Returns the factor, or `null`.
   */
  async verify(subject: string, code: unknown, sessionId?: string): Promise<SecondFactor | null> {
    const principal = { subject, sessionId };
    if (!(await this.withinGuessBudget(subject))) {
      this.audit.publish({ type: 'mfa.failure', outcome: 'denied', reason: 'too_many_codes', principal });
      return null;
    }
    const factor = await this.check(subject, code);
    if (!factor) this.audit.publish({ type: 'mfa.failure', outcome: 'failure', reason: 'invalid_code', principal });
    return factor;
  }

  /** A whole sign-in succeeded: the subject's code guesses start again from zero. */
  async settle(subject: string): Promise<void> {
    try {
      await this.store.delete(this.guessKey(subject));
    } catch (error) {
      this.failures.handle(error, 'auth');
    }
  }

  /** New recovery codes replace all the old ones (shown once). Only while MFA is on. */
  async regenerateRecoveryCodes(subject: string, currentSessionId?: string): Promise<{ recoveryCodes: string[] }> {
    const { codes, hashes } = generateRecoveryCodes();
    if (!(await this.port().replaceRecoveryCodes(subject, hashes))) throw new ConflictException('MFA is not enabled');
    this.audit.publish({ type: 'mfa.enrolled', outcome: 'success', reason: 'recovery_codes_replaced', principal: { subject, sessionId: currentSessionId } });
    return { recoveryCodes: codes };
  }

  /**
   * Removes the subject's second factor and recovery codes: by the user (behind `@RequireRecentAuth()`,
   * which then demands the factor itself), or by an operator who verified the user out of band when
   * both the authenticator and the recovery codes are lost. Every session of the subject but
   * `options.except` is revoked.
   */
  async disable(subject: string, reason: string, options: { except?: string } = {}): Promise<boolean> {
    const removed = await this.port().remove(subject);
    await this.sessions.revokeAll(subject, reason, { except: options.except });
    if (removed) this.audit.publish({ type: 'mfa.disabled', outcome: 'success', reason, principal: { subject, sessionId: options.except } });
    return removed;
  }

  private async check(subject: string, code: unknown): Promise<SecondFactor | null> {
    if (typeof code !== 'string' || code.length === 0 || code.length > 64) return null;
    const record = await this.port().find(subject);
    if (!record?.secret) return null;
    const trimmed = code.trim();
    if (TOTP_FORMAT.test(trimmed)) {
      const secret = this.keys().decrypt(record.secret, subject);
      // A secret no configured key opens (a lost key, a row copied from another account) proves nothing.
      if (secret === null) return null;
      const step = verifyTotp(secret, trimmed, { lastUsedStep: record.lastUsedStep, nowMs: this.clock.now() });
      if (step === null || !(await this.port().useStep(subject, record.secret, step))) return null;
      if (this.keys().isStale(record.secret)) await this.port().replaceSecret(subject, record.secret, this.keys().encrypt(secret, subject));
      return 'otp';
    }
    return (await this.port().useRecoveryCode(subject, hashRecoveryCode(trimmed))) ? 'recovery_code' : null;
  }

  private async withinGuessBudget(subject: string): Promise<boolean> {
    const { limit, window } = this.options().codeGuesses;
    try {
      // Counted before the code is looked at, in one atomic step: of a burst of parallel guesses only the
      // first `limit` see a count within the budget (a check, then a count, would let them all through).
      return (await this.store.increment(this.guessKey(subject), window * 1000)) <= limit;
    } catch (error) {
      // Fail closed by default (503); with onStoreFailure.auth 'open' the lockout and the replay check still hold.
      this.failures.handle(error, 'auth');
      return true;
    }
  }

  private guessKey(subject: string): string {
    return `mfa:guesses:${createHash('sha256').update(subject).digest('hex').slice(0, 32)}`;
  }

  private keys(): TotpSecretCipher {
    this.options();
    this.cipher ??= new TotpSecretCipher((this.config as AccountsConfig).totpKeys);
    return this.cipher;
  }

  private port(): MfaStore {
    this.mfaStore ??= this.resolveStore(this.options());
    return this.mfaStore;
  }

  private options(): AccountsConfig {
    if (this.config === false) {
      throw new ZeroTrustConfigurationError('MfaService needs the `accounts` option (`accounts: { directory, totpEncryptionKey }`) and the ZeroTrustMfa migration.');
    }
    return this.config;
  }

  private resolveStore(config: AccountsConfig): MfaStore {
    const given = config.mfaStore;
    if (given === undefined) return this.typeOrmStore;
    if (isMfaStore(given)) return given;
    let found: unknown;
    try {
      found = this.moduleRef.get(given as never, { strict: false });
    } catch {
      found = undefined;
    }
    if (!isMfaStore(found)) {
      throw new ZeroTrustConfigurationError(
        `accounts.mfaStore names ${typeof given === 'function' ? given.name : String(given)}, but no provider of the app answers to it with the MfaStore methods.`,
      );
    }
    return found;
  }
}

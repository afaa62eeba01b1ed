import { BadRequestException, HttpException, HttpStatus, Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { RequestContexts } from '../core/request-context.js';
import { addressBucket } from '../http/client-ip.js';
import { SessionService } from '../sessions/session.service.js';
import { StoreFailurePolicy } from '../store/store-failure.policy.js';
import { ZERO_TRUST_STORE } from '../store/store.internal-constants.js';
import type { ZeroTrustStore } from '../store/zero-trust-store.js';
import { AccountTokenRepository, stampDigest } from './account-token.repository.js';
import { publishLifecycleEvent } from './lifecycle-audit.js';
import { LifecyclePorts } from './lifecycle-ports.js';
import type { LifecycleConfig } from './lifecycle.options.js';
import { PasswordPolicy } from './password.policy.js';
import { accountTag } from './proof-of-work.service.js';
import { TOKEN_PATTERN } from './registration.service.js';

/** The one answer of a reset request, for a known and an unknown address alike. */
export const PASSWORD_RESET_RECEIPT = Object.freeze({
  status: 'reset_requested' as const,
  message: 'If an account uses this address, a link to choose a new password is on its way.',
});

/**
 * Password reset with the zero-trust properties built in:
 *
 * - the same answer for a known and an unknown address (and the mail is sent outside the request);
 * - requests limited per client address and per account name (counted for any name, so the limit
 *   tells nothing about existence), in the shared store;
 * - 256-bit single-use tokens, stored as SHA-256, living `tokenTtl` (900 s), bound to the password
 *   state: a link issued before a password change is void (`passwordStamp`, and the `password.changed`
 *   audit event of the app's own change route);
 * - completing it sets the password, confirms the address (the mailbox was proven), voids the other
 *   links, revokes every session of the account, and mails a notice; every refusal changes nothing.
 */
@Injectable()
export class PasswordResetService implements OnModuleInit {
  private readonly logger = new Logger('ZeroTrustPasswordReset');

  constructor(
    private readonly ports: LifecyclePorts,
    private readonly tokens: AccountTokenRepository,
    private readonly policy: PasswordPolicy,
    private readonly sessions: SessionService,
    private readonly audit: AuditService,
    private readonly failures: StoreFailurePolicy,
    @Inject(ZERO_TRUST_STORE) private readonly store: ZeroTrustStore,
  ) {}

  onModuleInit(): void {
    // A password changed by the app's own route voids the links mailed before it.
    this.audit.subscribe((event) => {
      if (event.type === 'password.changed' && event.outcome === 'success' && event.principal?.subject) {
        this.passwordChanged(event.principal.subject).catch((error: unknown) => this.logger.error(`could not void reset links: ${(error as Error).message}`));
      }
    });
  }

  async request(login: string): Promise<typeof PASSWORD_RESET_RECEIPT> {
    const settings = this.ports.settings.passwordReset;
    await this.limit(login, settings);
    return this.ports.withResponseFloor(() => this.issue(login, settings));
  }

  private async issue(login: string, settings: LifecycleConfig['passwordReset']): Promise<typeof PASSWORD_RESET_RECEIPT> {
    const account = await this.ports.registry().findByLogin(login);
    if (account && !account.disabled) {
      const token = await this.tokens.issue('reset', account.subject, settings.tokenTtl, account.passwordStamp);
      this.ports.deliver({
        kind: 'password_reset',
        to: account.login,
        subject: 'Choose a new password',
        text:
          `Open this link to choose a new password:\n\n${this.ports.link('resetPassword', token)}\n\n` +
          `It works once, for ${Math.round(settings.tokenTtl / 60)} minutes, and signs you out everywhere. If you did not ask for it, ignore this mail: your password stays as it is.`,
      });
    }
    publishLifecycleEvent(this.audit, { type: 'password_reset.requested', outcome: 'success', ...(account ? { principal: { subject: account.subject } } : {}), details: { account: accountTag(login) } });
    return PASSWORD_RESET_RECEIPT;
  }

  /** Sets the new password with a mailed token. Every refusal is the same 400 (or the policy's, which says why) and changes nothing. */
  async complete(token: unknown, password: string): Promise<void> {
    const refuse = (reason: string, subject?: string): never => {
      publishLifecycleEvent(this.audit, { type: 'password_reset.rejected', outcome: 'denied', reason, ...(subject ? { principal: { subject } } : {}) });
      throw new BadRequestException('Invalid or expired link');
    };
    if (typeof token !== 'string' || !TOKEN_PATTERN.test(token)) return refuse('malformed');
    const record = await this.tokens.find('reset', token);
    if (!record) return refuse('unknown_token');
    const registry = this.ports.registry();
    const account = await registry.findBySubject(record.subject);
    if (!account || account.disabled) return refuse('no_account', record.subject);
    if (record.passwordStamp !== stampDigest(account.passwordStamp)) return refuse('password_changed', account.subject);
    // The policy before spending: a refused password leaves the link usable for a better one.
    this.policy.assert(password, [account.login]);
    if (!(await this.tokens.spend('reset', token, record))) return refuse('spent', account.subject);
    await registry.setPassword(account.subject, password);
    if (!account.verified) await registry.markVerified(account.subject, token);
    await this.tokens.voidAll('reset', account.subject);
    // Whoever held the old password (or a stolen session) is out: every session, refresh tokens included.
    const revoked = await this.sessions.revokeAll(account.subject, 'password_reset');
    publishLifecycleEvent(this.audit, { type: 'password_reset.completed', outcome: 'success', principal: { subject: account.subject }, details: { revokedSessions: revoked } });
    this.ports.deliver({
      kind: 'password_reset_completed',
      to: account.login,
      subject: 'Your password was changed',
      text: 'Your password was just reset and every session was signed out. If it was not you, reset it again now and contact support.',
    });
  }

  /** Voids the reset links of a subject: call it when the password changes by any other way. */
  async passwordChanged(subject: string): Promise<void> {
    await this.tokens.voidAll('reset', subject);
  }

  private async limit(login: string, settings: { perAccount: number; perAddress: number; window: number }): Promise<void> {
    const ip = RequestContexts.current()?.clientIp;
    const windowMs = settings.window * 1000;
    let over = false;
    try {
      const [byAddress, byAccount] = await Promise.all([
        ip ? this.store.increment(`reset:address:${addressBucket(ip)}`, windowMs) : Promise.resolve(0),
        this.store.increment(`reset:account:${accountTag(login)}`, windowMs),
      ]);
      over = byAddress > settings.perAddress || byAccount > settings.perAccount;
    } catch (error) {
      this.failures.handle(error, 'auth');
    }
    if (over) {
      publishLifecycleEvent(this.audit, { type: 'password_reset.rejected', outcome: 'denied', reason: 'rate_limited', details: { account: accountTag(login) } });
      throw new HttpException({ statusCode: 429, message: 'Too many requests', error: 'Too Many Requests' }, HttpStatus.TOO_MANY_REQUESTS);
    }
  }
}

import { BadRequestException, Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import type { LifecycleAccount } from './account-registry.port.js';
import { AccountTokenRepository, stampDigest } from './account-token.repository.js';
import { publishLifecycleEvent } from './lifecycle-audit.js';
import { LifecyclePorts } from './lifecycle-ports.js';
import { PasswordPolicy } from './password.policy.js';

/** The one answer of a registration, for a new and a taken address alike. */
export interface RegistrationReceipt {
  readonly status: 'pending_verification';
  readonly message: string;
}

export const REGISTRATION_RECEIPT: RegistrationReceipt = Object.freeze({
  status: 'pending_verification',
  message: 'If the address can be registered, a link to confirm it is on its way. Open it to finish.',
});

/** Tokens are 32 random bytes in base64url: anything else is refused before the database is asked. */
export const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/**
 * Registration that answers the same for a new and a taken address (status, body, and the same
 * password-hashing work: the registry hashes before it inserts), so it is no longer an oracle of who
 * has an account. The difference goes to the mailbox, which only its owner reads: "confirm your
 * address" for a new account, "someone tried to register with your address" for a taken one.
 *
 * Unverified accounts cannot sign in (see `requireVerifiedAccounts`): were they allowed in, even with a
 * restricted scope, signing in with the password just chosen would tell a new address (it works) from a
 * taken one (it fails), and the oracle would be back one request later.
 */
@Injectable()
export class RegistrationService {
  constructor(
    private readonly ports: LifecyclePorts,
    private readonly tokens: AccountTokenRepository,
    private readonly policy: PasswordPolicy,
    private readonly audit: AuditService,
  ) {}

  async register(login: string, password: string): Promise<RegistrationReceipt> {
    // The policy first, on the password alone: its 400 is the same for a new and a taken address.
    this.policy.assert(password, [login]);
    return this.ports.withResponseFloor(() => this.create(login, password));
  }

  private async create(login: string, password: string): Promise<RegistrationReceipt> {
    const registry = this.ports.registry();
    const created = await registry.create(login, password);
    if (created) {
      await this.sendVerification(created);
      publishLifecycleEvent(this.audit, { type: 'account.registration_requested', outcome: 'success', principal: { subject: created.subject } });
    } else {
      const existing = await registry.findByLogin(login);
      if (existing && !existing.disabled) {
        this.ports.deliver({
          kind: 'registration_attempt',
          to: existing.login,
          subject: 'Someone tried to register with your address',
          text:
            'Someone (maybe you) tried to create an account with this address, which already has one. Nothing was changed.\n\n' +
            'If it was you: sign in, or reset your password (resetting also confirms your address).\nIf it was not you: you can ignore this mail.',
        });
      }
      publishLifecycleEvent(this.audit, { type: 'account.registration_requested', outcome: 'success' });
    }
    return REGISTRATION_RECEIPT;
  }

  /** Mails a new verification link (an account that lost the first one: call it from a signed-in route). */
  async sendVerification(account: LifecycleAccount): Promise<void> {
    const { verificationTokenTtl } = this.ports.settings;
    const token = await this.tokens.issue('verify', account.subject, verificationTokenTtl, account.passwordStamp);
    this.ports.deliver({
      kind: 'verify_address',
      to: account.login,
      subject: 'Confirm your address',
      text:
        `Open this link to confirm your address and finish creating your account:\n\n${this.ports.link('verifyAddress', token)}\n\n` +
        `It works once, for ${Math.round(verificationTokenTtl / 3600)} hours. If you did not register, ignore this mail: nothing happens without the link.`,
    });
  }

  /**
   * Confirms an account the app itself vouches for, without a mail (a development quick start, an
   * operator's tool): a verification token is issued under the account's signed identity and spent at
   * once. Only app code holding the identity key can do it; SQL injected as the runtime role cannot.
   */
  async confirmWithoutMail(account: LifecycleAccount): Promise<void> {
    const token = await this.tokens.issue('verify', account.subject, 60, account.passwordStamp);
    const record = { subject: account.subject, passwordStamp: stampDigest(account.passwordStamp) };
    if (!(await this.tokens.spend('verify', token, record))) throw new Error('the confirmation token could not be spent');
    await this.ports.registry().markVerified(account.subject, token);
    publishLifecycleEvent(this.audit, { type: 'account.verified', outcome: 'success', principal: { subject: account.subject }, details: { mail: false } });
  }

  /**
   * Proves the address with the mailed token (single use). A token issued before the password changed
   * is void. Every refusal is the same 400, and changes nothing.
   */
  async verify(token: unknown): Promise<void> {
    const refuse = (reason: string): never => {
      publishLifecycleEvent(this.audit, { type: 'account.verified', outcome: 'denied', reason });
      throw new BadRequestException('Invalid or expired link');
    };
    if (typeof token !== 'string' || !TOKEN_PATTERN.test(token)) return refuse('malformed');
    const record = await this.tokens.find('verify', token);
    if (!record) return refuse('unknown_token');
    const registry = this.ports.registry();
    const account = await registry.findBySubject(record.subject);
    if (!account || account.disabled) return refuse('no_account');
    if (record.passwordStamp !== null && record.passwordStamp !== stampDigest(account.passwordStamp)) return refuse('password_changed');
    if (!(await this.tokens.spend('verify', token, record))) return refuse('spent');
    if (!account.verified) await registry.markVerified(account.subject, token);
    publishLifecycleEvent(this.audit, { type: 'account.verified', outcome: 'success', principal: { subject: account.subject } });
  }
}

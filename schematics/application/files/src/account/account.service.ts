import { Injectable, NotFoundException } from '@nestjs/common';
import { PasswordPolicy, RegistrationService } from 'nestjs-zero-trust';
import { UsersAccountRegistry } from './users-account.registry.js';

/** What `POST /auth/register` answers, for a new and a taken address alike. */
export const QUICK_REGISTRATION_RECEIPT = Object.freeze({ status: 'registered', message: 'If the address was free, the account is ready: sign in.' });

/**
 * The development quick start behind `POST /auth/register`: an account usable at once, without a mail.
 * It answers the same for a new and a taken address (no more 409), applies the password policy, and is
 * refused when `NODE_ENV=production`, where `POST /account/register` (proof of work, a verification
 * link) is the only way in. Outside production it still tells a new address from a taken one to whoever
 * then signs in with the password just chosen: that is why it does not exist in production.
 */
@Injectable()
export class AccountService {
  constructor(
    private readonly registry: UsersAccountRegistry,
    private readonly policy: PasswordPolicy,
    private readonly registration: RegistrationService,
  ) {}

  async quickRegister(email: string, password: string, env: NodeJS.ProcessEnv = process.env) {
    if (env.NODE_ENV === 'production') throw new NotFoundException('Cannot POST /auth/register: register with POST /account/register');
    this.policy.assert(password, [email]);
    const created = await this.registry.create(email, password);
    if (created) await this.registration.confirmWithoutMail(created);
    return QUICK_REGISTRATION_RECEIPT;
  }
}

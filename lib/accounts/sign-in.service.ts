import { ForbiddenException, Inject, Injectable, type OnApplicationBootstrap, UnauthorizedException } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { AUTH_CONFIG } from '../auth/auth.internal-constants.js';
import type { AuthConfig } from '../auth/auth.options.js';
import type { ZeroTrustPrincipal } from '../core/principal.interface.js';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';
import { type ReauthenticatedSession, SessionService, type SessionTokens } from '../sessions/session.service.js';
import { AccountLockoutService } from '../throttle/account-lockout.service.js';
import { type Account, type AccountDirectory, isAccountDirectory } from './account-directory.port.js';
import { ACCOUNTS_CONFIG } from './accounts.internal-constants.js';
import type { AccountsConfig } from './accounts.options.js';
import { MfaService, SECOND_FACTOR_METHODS } from './mfa.service.js';

/** What the user proves again for a reauthentication: the password, or (an account with MFA) the current factor. */
export interface ReauthenticationProof {
  password?: string;
  /** A TOTP code or a recovery code. */
  code?: string;
}

/**
 * The sign-in steps an application should not write itself, in the order that keeps them safe:
 *
 * 1. `AccountLockoutService.begin()` reserves one attempt of the account atomically with the lock check;
 *    a refused attempt does the same (decoy) password work and gets the same answer as a wrong password.
 * 2. The password, through the app's `AccountDirectory` (its users table, its hashing).
 * 3. For an account with MFA, the second factor (`MfaService.verify`: bounded guesses, replay-proof TOTP,
 *    one-time recovery codes). A wrong code counts against the account exactly like a wrong password.
 * 4. Only when everything passed does `succeed()` clear the account's failures: a right password alone
 *    clears nothing, so a password holder cannot keep guessing codes.
 */
@Injectable()
export class SignInService implements OnApplicationBootstrap {
  private directory?: AccountDirectory;

  constructor(
    @Inject(ACCOUNTS_CONFIG) private readonly config: AccountsConfig | false,
    private readonly moduleRef: ModuleRef,
    private readonly lockout: AccountLockoutService,
    private readonly mfa: MfaService,
    private readonly sessions: SessionService,
    @Inject(AUTH_CONFIG) private readonly auth: AuthConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config !== false) this.directory = this.resolveDirectory(this.config);
  }

  /**
   * Password (and second-factor) sign-in; starts a session. An unknown login, a wrong password, a locked
   * or disabled account and a wrong code all get the same 401 (the code ones after a right password only).
   */
  async login(login: string, password: string, code?: string): Promise<SessionTokens> {
    const directory = this.accounts();
    // The account first: spellings the directory maps to one account (case, Unicode forms, a trailing dot)
    // must share its count, so the attempt is keyed by the account's own login, not by what was typed.
    const account = await directory.findByLogin(login);
    const attempt = await this.lockout.begin(account?.login ?? login, { known: account !== null });
    if (!attempt.allowed) {
      // Locked, or out of attempts this window: the real password is never checked, but the work is done.
      await directory.verifyPassword(null, password);
      return this.refuse();
    }
    const valid = await directory.verifyPassword(account, password);
    if (!account || !valid || account.disabled) {
      // Made-up names left no state (begin with known: false); the answer is the same.
      await attempt.fail();
      return this.refuse();
    }
    const methods = ['pwd'];
    if (await this.mfa.isEnabled(account.subject)) {
      // The attempt stays reserved (it counts in the window) but is neither a failure nor a success yet.
      if (code === undefined || code === '') throw new UnauthorizedException('MFA code required');
      if (!(await this.secondFactor(account, code))) {
        await attempt.fail();
        throw new UnauthorizedException('Invalid MFA code');
      }
      methods.push(...SECOND_FACTOR_METHODS);
    }
    await attempt.succeed();
    await this.mfa.settle(account.subject);
    return this.sessions.create(account.subject, { scopes: account.scopes, roles: account.roles, authMethods: methods });
  }

  /**
   * Step-up inside a session (RFC 9470): the user proves the strongest credential the account has again
   * (the current second factor when MFA is on, else the password), with the same lockout as a login.
   * Returns an access token whose `auth_time` is now, for the routes behind `@RequireRecentAuth()`.
   */
  async reauthenticate(principal: ZeroTrustPrincipal, proof: ReauthenticationProof): Promise<ReauthenticatedSession> {
    const directory = this.accounts();
    const sessionId = this.ownSession(principal);
    const account = await directory.findBySubject(principal.subject);
    const attempt = await this.lockout.begin(account?.login ?? principal.subject);
    if (!attempt.allowed) {
      await directory.verifyPassword(null, proof.password ?? '');
      return this.deny();
    }
    if (!account || account.disabled) {
      await attempt.fail();
      return this.deny();
    }
    let methods: readonly string[];
    if (await this.mfa.isEnabled(account.subject)) {
      // "The current factor": with MFA on, the password alone does not make an authentication recent.
      if (!proof.code || !(await this.secondFactor(account, proof.code, sessionId))) {
        await attempt.fail();
        return this.deny();
      }
      methods = SECOND_FACTOR_METHODS;
    } else {
      if (proof.password === undefined || !(await directory.verifyPassword(account, proof.password))) {
        await attempt.fail();
        return this.deny();
      }
      methods = ['pwd'];
    }
    await attempt.succeed();
    await this.mfa.settle(account.subject);
    return this.sessions.reauthenticate(sessionId, account.subject, methods);
  }

  /**
   * Checks the signed-in user's current password (before a password change), counted by the lockout
   * like a login: a stolen access token cannot be used to guess the password without limit.
   */
  async verifyPassword(principal: ZeroTrustPrincipal, password: string): Promise<boolean> {
    const directory = this.accounts();
    this.ownSession(principal);
    const account = await directory.findBySubject(principal.subject);
    const attempt = await this.lockout.begin(account?.login ?? principal.subject);
    if (!attempt.allowed) {
      await directory.verifyPassword(null, password);
      return false;
    }
    if (!account || account.disabled || !(await directory.verifyPassword(account, password))) {
      await attempt.fail();
      return false;
    }
    await attempt.succeed();
    return true;
  }

  private async secondFactor(account: Account, code: string, sessionId?: string): Promise<boolean> {
    return (await this.mfa.verify(account.subject, code, sessionId)) !== null;
  }

  /** Only this app's own session tokens can be stepped up here: an external issuer's user has no local credentials. */
  private ownSession(principal: ZeroTrustPrincipal): string {
    if (principal.issuer !== this.auth.issuer || !principal.sessionId) throw new ForbiddenException('Access denied');
    return principal.sessionId;
  }

  private refuse(): never {
    throw new UnauthorizedException('Invalid credentials');
  }

  private deny(): never {
    throw new ForbiddenException('Invalid credentials');
  }

  private accounts(): AccountDirectory {
    if (this.config === false) {
      throw new ZeroTrustConfigurationError('SignInService needs the `accounts` option (`accounts: { directory, totpEncryptionKey }`).');
    }
    this.directory ??= this.resolveDirectory(this.config);
    return this.directory;
  }

  private resolveDirectory(config: AccountsConfig): AccountDirectory {
    const given = config.directory;
    if (isAccountDirectory(given)) return given;
    let found: unknown;
    try {
      found = this.moduleRef.get(given as never, { strict: false });
    } catch {
      found = undefined;
    }
    if (!isAccountDirectory(found)) {
      throw new ZeroTrustConfigurationError(
        `accounts.directory names ${typeof given === 'function' ? given.name : String(given)}, but no provider of the app answers to it with ` +
          'findByLogin, findBySubject and verifyPassword: add it to a module\'s providers, or pass an object.',
      );
    }
    return found;
  }
}

import { ForbiddenException, Injectable, NotFoundException, UnauthorizedException } from '@nestjs/common';
import { AuditService, MfaService, SessionService, type SessionTokens, SignInService, type ZeroTrustPrincipal } from 'nestjs-zero-trust';
import { UsersService } from '../users/users.service.js';
import { hashPassword } from './password-hasher.js';

const MFA_ISSUER = 'nestjs-zero-trust sample';

/**
 * The sample's account flows. The credential steps themselves are the library's: `SignInService`
 * (lockout-aware login and reauthentication), `MfaService` (encrypted TOTP secrets, one-time recovery
 * codes) and `SessionService`; this service adds the users table and argon2id.
 */
@Injectable()
export class AuthService {
  constructor(
    private readonly users: UsersService,
    private readonly signIn: SignInService,
    private readonly mfa: MfaService,
    private readonly sessions: SessionService,
    private readonly audit: AuditService,
  ) {}

  async register(email: string, password: string) {
    return this.users.create(email, await hashPassword(password));
  }

  /**
   * One answer for an unknown email, a wrong password, a locked and a disabled account: same status,
   * body and argon2 cost. Only after the password is right does an MFA account learn that a code is missing.
   */
  login(email: string, password: string, otp: string | undefined): Promise<SessionTokens> {
    return this.signIn.login(email, password, otp);
  }

  refresh(refreshToken: string | undefined): Promise<SessionTokens> {
    return this.sessions.rotate(refreshToken);
  }

  /** A fresh `auth_time` for the routes behind @RequireRecentAuth(): the password, or the current second factor. */
  reauthenticate(principal: ZeroTrustPrincipal, proof: { password?: string; otp?: string }) {
    return this.signIn.reauthenticate(principal, { password: proof.password, code: proof.otp });
  }

  async logout(principal: ZeroTrustPrincipal): Promise<void> {
    if (principal.sessionId) await this.sessions.revoke(principal.sessionId, 'logout');
  }

  async logoutAll(principal: ZeroTrustPrincipal): Promise<void> {
    await this.sessions.revokeAll(principal.subject, 'logout_all');
  }

  /** Every other session dies: whoever else held the old password is logged out. */
  async changePassword(principal: ZeroTrustPrincipal, current: string, next: string): Promise<void> {
    if (!(await this.signIn.verifyPassword(principal, current))) throw new ForbiddenException('Current password is wrong');
    await this.users.setPassword(principal.subject, await hashPassword(next));
    await this.sessions.revokeAll(principal.subject, 'password_changed', { except: principal.sessionId });
    this.audit.publish({ type: 'password.changed', outcome: 'success', principal: { subject: principal.subject, sessionId: principal.sessionId } });
  }

  /** Enrols a new authenticator; with MFA already on, replaces it once the new one is confirmed (a reset). */
  async enrollMfa(principal: ZeroTrustPrincipal) {
    const email = await this.users.emailOf(principal.subject);
    if (!email) throw new UnauthorizedException();
    return this.mfa.beginEnrolment(principal.subject, { issuer: MFA_ISSUER, account: email });
  }

  /** The first valid code turns MFA on and yields one-time recovery codes, shown only now. */
  confirmMfa(principal: ZeroTrustPrincipal, code: string) {
    return this.mfa.confirmEnrolment(principal.subject, code, principal.sessionId);
  }

  async disableMfa(principal: ZeroTrustPrincipal): Promise<void> {
    if (!(await this.mfa.disable(principal.subject, 'mfa_disabled', { except: principal.sessionId }))) throw new NotFoundException('MFA is not enabled');
  }

  regenerateRecoveryCodes(principal: ZeroTrustPrincipal) {
    return this.mfa.regenerateRecoveryCodes(principal.subject, principal.sessionId);
  }

  async disableUser(userId: string): Promise<void> {
    await this.users.disable(userId);
    await this.sessions.revokeAll(userId, 'user_disabled');
  }

  /**
   * Operator recovery for a user who lost both the authenticator and the recovery codes (verified out of
   * band): the factor goes, every session of the user goes; they sign in with their password and enrol again.
   */
  async resetMfa(userId: string): Promise<void> {
    if (!(await this.users.emailOf(userId))) throw new NotFoundException('Resource not found');
    await this.mfa.disable(userId, 'mfa_reset_by_operator');
  }

  /** The new scopes reach the user's next refresh; their access tokens issued before fail at once. */
  async setScopes(userId: string, scopes: string[]): Promise<void> {
    if (!(await this.users.setScopes(userId, [...new Set(scopes)]))) throw new NotFoundException('Resource not found');
    await this.sessions.grantsChanged(userId);
  }
}

import { ConflictException, ForbiddenException, Injectable, BadRequestException, UnauthorizedException } from '@nestjs/common';
import {
  AccountLockoutService,
  AuditService,
  generateRecoveryCodes,
  generateTotpSecret,
  hashRecoveryCode,
  SessionService,
  type SessionTokens,
  totpUri,
  verifyTotp,
  type ZeroTrustPrincipal,
} from 'nestjs-zero-trust';
import { UsersService } from '../users/users.service.js';
import { decoyHash, hashPassword, verifyPassword } from './password-hasher.js';

/** Shown beside the account in authenticator apps. */
const MFA_ISSUER = '<%= name %>';

@Injectable()
export class AuthService {
  constructor(
    private readonly users: UsersService,
    private readonly sessions: SessionService,
    private readonly audit: AuditService,
    private readonly lockout: AccountLockoutService,
  ) {}

  async register(email: string, password: string) {
    return this.users.create(email, await hashPassword(password));
  }

  /**
   * One answer for an unknown email, a wrong password, a locked and a disabled account: same status,
   * body and argon2 cost. Only after the password is right does an MFA account learn that a code is missing.
   */
  async login(email: string, password: string, otp: string | undefined): Promise<SessionTokens> {
    const locked = await this.lockout.isLocked(email);
    const user = await this.users.findWithSecretsByEmail(email);
    const valid = await verifyPassword(user?.passwordHash ?? (await decoyHash()), password);
    if (locked || !user || !valid || user.disabledAt) {
      // Failures count per account name, known or not, so probing unknown names looks the same.
      if (!locked && !valid) await this.lockout.recordFailure(email);
      throw new UnauthorizedException('Invalid email or password');
    }
    await this.lockout.recordSuccess(email);
    const authMethods = ['pwd'];
    if (user.mfaEnabled) {
      if (!otp) throw new UnauthorizedException('MFA code required');
      if (!(await this.secondFactor(user.id, user.mfaSecret!, user.mfaLastStep, user.recoveryCodeHashes, otp))) {
        this.audit.publish({ type: 'mfa.failure', outcome: 'failure', reason: 'invalid_code', principal: { subject: user.id } });
        throw new UnauthorizedException('Invalid MFA code');
      }
      authMethods.push('otp', 'mfa');
    }
    return this.sessions.create(user.id, { scopes: user.scopes, authMethods });
  }

  refresh(refreshToken: string | undefined): Promise<SessionTokens> {
    return this.sessions.rotate(refreshToken);
  }

  async logout(principal: ZeroTrustPrincipal): Promise<void> {
    if (principal.sessionId) await this.sessions.revoke(principal.sessionId, 'logout');
  }

  async logoutAll(principal: ZeroTrustPrincipal): Promise<void> {
    await this.sessions.revokeAll(principal.subject, 'logout_all');
  }

  /** Every other session dies: whoever else held the old password is logged out. */
  async changePassword(principal: ZeroTrustPrincipal, current: string, next: string): Promise<void> {
    const user = await this.users.findWithSecrets(principal.subject);
    if (!user || !(await verifyPassword(user.passwordHash, current))) throw new ForbiddenException('Current password is wrong');
    await this.users.update(user.id, { passwordHash: await hashPassword(next) });
    await this.sessions.revokeAll(user.id, 'password_changed', { except: principal.sessionId });
    this.audit.publish({ type: 'password.changed', outcome: 'success', principal: { subject: user.id, sessionId: principal.sessionId } });
  }

  async enrollMfa(principal: ZeroTrustPrincipal) {
    const user = await this.users.findWithSecrets(principal.subject);
    if (!user) throw new UnauthorizedException();
    if (user.mfaEnabled) throw new ConflictException('MFA is already enabled');
    const secret = generateTotpSecret();
    await this.users.update(user.id, { mfaSecret: secret, mfaLastStep: null });
    return { otpauthUri: totpUri({ secret, account: user.email, issuer: MFA_ISSUER }), secret };
  }

  /** The first valid code turns MFA on and yields one-time recovery codes, shown only now. */
  async confirmMfa(principal: ZeroTrustPrincipal, code: string) {
    const user = await this.users.findWithSecrets(principal.subject);
    if (!user?.mfaSecret || user.mfaEnabled) throw new BadRequestException('Start enrollment first');
    const step = verifyTotp(user.mfaSecret, code, { lastUsedStep: user.mfaLastStep === null ? null : Number(user.mfaLastStep) });
    if (step === null || !(await this.users.consumeTotpStep(user.id, step))) {
      this.audit.publish({ type: 'mfa.failure', outcome: 'failure', reason: 'invalid_enrollment_code', principal: { subject: user.id } });
      throw new BadRequestException('Invalid code');
    }
    const { codes, hashes } = generateRecoveryCodes();
    await this.users.update(user.id, { mfaEnabled: true, recoveryCodeHashes: hashes });
    this.audit.publish({ type: 'mfa.enrolled', outcome: 'success', principal: { subject: user.id, sessionId: principal.sessionId } });
    return { recoveryCodes: codes };
  }

  async disableUser(userId: string): Promise<void> {
    await this.users.update(userId, { disabledAt: new Date() });
    await this.sessions.revokeAll(userId, 'user_disabled');
  }

  private async secondFactor(userId: string, secret: string, lastStep: string | null, recoveryHashes: string[], otp: string): Promise<boolean> {
    const step = verifyTotp(secret, otp, { lastUsedStep: lastStep === null ? null : Number(lastStep) });
    if (step !== null) return this.users.consumeTotpStep(userId, step);
    const hash = hashRecoveryCode(otp);
    if (!recoveryHashes.includes(hash)) return false;
    // One-time: a recovery code is spent by removing its hash.
    await this.users.update(userId, { recoveryCodeHashes: recoveryHashes.filter((h) => h !== hash) });
    return true;
  }
}

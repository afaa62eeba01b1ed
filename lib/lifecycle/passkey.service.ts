import { BadRequestException, ForbiddenException, Inject, Injectable, NotFoundException, type OnModuleInit, UnauthorizedException } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { type AccountDirectory, isAccountDirectory } from '../accounts/account-directory.port.js';
import { ACCOUNTS_CONFIG } from '../accounts/accounts.internal-constants.js';
import type { AccountsConfig } from '../accounts/accounts.options.js';
import { AuditService } from '../audit/audit.service.js';
import { AUTH_CONFIG } from '../auth/auth.internal-constants.js';
import type { AuthConfig } from '../auth/auth.options.js';
import { Clock } from '../core/clock.js';
import type { ZeroTrustPrincipal } from '../core/principal.interface.js';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';
import { type ReauthenticatedSession, SessionService, type SessionTokens } from '../sessions/session.service.js';
import { StoreFailurePolicy } from '../store/store-failure.policy.js';
import { ZERO_TRUST_STORE } from '../store/store.internal-constants.js';
import type { ZeroTrustStore } from '../store/zero-trust-store.js';
import { publishLifecycleEvent } from './lifecycle-audit.js';
import { LIFECYCLE_CONFIG } from './lifecycle.internal-constants.js';
import type { LifecycleConfig } from './lifecycle.options.js';
import { PasskeyRepository, type PasskeySummary, type StoredPasskey } from './passkey.repository.js';

type WebAuthn = typeof import('@simplewebauthn/server');
type Purpose = 'register' | 'sign_in' | 'step_up';

/** A ceremony's challenge, signed by the server: no server state until it is spent. */
interface ChallengeClaims {
  /** purpose */
  p: Purpose;
  /** subject digest (registration and step-up), so a challenge issued to one user proves nothing for another */
  s?: string;
  /** expiry, ms since the epoch */
  e: number;
  /** nonce */
  n: string;
}

/**
 * What `PublicKeyCredential.parseCreationOptionsFromJSON()` / `parseRequestOptionsFromJSON()` take in the
 * browser (WebAuthn's JSON options). Typed loosely so the public API does not need @simplewebauthn/server.
 */
export interface PasskeyCeremonyOptions {
  readonly challenge: string;
  readonly timeout?: number;
}

/** The browser's JSON of a credential (`PublicKeyCredential.toJSON()`), as the client posts it. */
export type PasskeyResponseJSON = Record<string, unknown> & { id: string };

/** RFC 8176: `hwk` for a key bound to one device, `swk` for a synced passkey (its key leaves the device). */
const methodOf = (deviceType: string) => (deviceType === 'singleDevice' ? 'hwk' : 'swk');

/**
 * Passkeys (WebAuthn, through @simplewebauthn/server) as a first factor (usernameless sign-in that
 * starts a session) and as a second factor (step-up inside a session: `amr` gains `hwk` or `swk`, which
 * `@RequireMfa()` and `@RequireRecentAuth()` accept). The zero-trust parts:
 *
 * - challenges are HMAC-signed, expire, name their ceremony and (for registration and step-up) the user,
 *   and are spent once in the shared store: a replayed assertion fails on every instance;
 * - user verification is required (a PIN or biometric on the authenticator), origins and RP id are exact;
 * - an assertion must come from a credential of the account it signs in (the stored owner, and for
 *   sign-in the authenticator's user handle too); the signature counter must move forward (a cloned
 *   authenticator shows as a counter going backwards), written by one conditional UPDATE;
 * - every refusal is the same answer and changes nothing.
 */
@Injectable()
export class PasskeyService implements OnModuleInit {
  private webauthn?: WebAuthn;
  private key = Buffer.alloc(0);
  private directory?: AccountDirectory;

  constructor(
    @Inject(LIFECYCLE_CONFIG) private readonly config: LifecycleConfig | false,
    @Inject(ACCOUNTS_CONFIG) private readonly accounts: AccountsConfig | false,
    @Inject(AUTH_CONFIG) private readonly auth: AuthConfig,
    @Inject(ZERO_TRUST_STORE) private readonly store: ZeroTrustStore,
    private readonly passkeys: PasskeyRepository,
    private readonly sessions: SessionService,
    private readonly failures: StoreFailurePolicy,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly moduleRef: ModuleRef,
  ) {}

  async onModuleInit(): Promise<void> {
    if (this.config === false || this.config.passkeys === false) return;
    if (this.accounts === false) throw new ZeroTrustConfigurationError('lifecycle.passkeys signs users in: turn `accounts` on as well (`accounts: { directory, totpEncryptionKey }`).');
    try {
      this.webauthn = await import('@simplewebauthn/server');
    } catch {
      throw new ZeroTrustConfigurationError('PasskeyService verifies WebAuthn with @simplewebauthn/server: install it.');
    }
    this.key = createHash('sha256').update('webauthn-challenge').update(this.config.proofOfWork.hmacKey).digest();
  }

  /** Options for `navigator.credentials.create()`: a new passkey for the signed-in user (put it behind `@RequireRecentAuth()`). */
  async registrationOptions(principal: ZeroTrustPrincipal, userName: string): Promise<PasskeyCeremonyOptions> {
    const { webauthn, settings } = this.ready();
    this.ownSession(principal);
    const existing = await this.passkeys.ofSubject(principal.subject);
    return webauthn.generateRegistrationOptions({
      rpName: settings.rpName,
      rpID: settings.rpId,
      userName,
      // The user handle is a digest of the subject: stable, and no personal data on the authenticator.
      userID: this.userHandle(principal.subject),
      challenge: this.challenge('register', principal.subject),
      attestationType: 'none',
      excludeCredentials: existing.map((passkey) => ({ id: passkey.id, transports: passkey.transports })),
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
    });
  }

  /** Verifies the new credential and stores its public key. */
  async register(principal: ZeroTrustPrincipal, response: PasskeyResponseJSON, name = 'Passkey'): Promise<PasskeySummary> {
    const { webauthn, settings } = this.ready();
    this.ownSession(principal);
    const spent = this.spender('register', principal.subject);
    let verification: Awaited<ReturnType<WebAuthn['verifyRegistrationResponse']>>;
    try {
      verification = await webauthn.verifyRegistrationResponse({
        response: response as never,
        expectedChallenge: spent.check,
        expectedOrigin: [...settings.origins],
        expectedRPID: settings.rpId,
        requireUserVerification: true,
      });
    } catch {
      return this.refuse('registration_invalid', principal.subject);
    }
    if (!verification.verified) return this.refuse('registration_invalid', principal.subject);
    const info = verification.registrationInfo;
    if (!(await spent.spend())) return this.refuse('challenge_replayed', principal.subject);
    const passkey = {
      id: info.credential.id,
      subject: principal.subject,
      publicKey: info.credential.publicKey,
      counter: info.credential.counter,
      deviceType: info.credentialDeviceType,
      backedUp: info.credentialBackedUp,
      transports: info.credential.transports ?? [],
      name: name.slice(0, 64),
    };
    if (!(await this.passkeys.add(passkey))) return this.refuse('credential_taken', principal.subject);
    publishLifecycleEvent(this.audit, { type: 'passkey.registered', outcome: 'success', principal: { subject: principal.subject, sessionId: principal.sessionId }, details: { deviceType: passkey.deviceType } });
    return { id: passkey.id, name: passkey.name, deviceType: passkey.deviceType, backedUp: passkey.backedUp, createdAt: new Date(this.clock.now()), lastUsedAt: null };
  }

  /** Options for `navigator.credentials.get()` at sign-in: discoverable credentials, no user named (nothing to enumerate). */
  async signInOptions(): Promise<PasskeyCeremonyOptions> {
    const { webauthn, settings } = this.ready();
    return webauthn.generateAuthenticationOptions({ rpID: settings.rpId, challenge: this.challenge('sign_in'), userVerification: 'required' });
  }

  /** A passkey as the first factor: starts a session whose `amr` is `hwk` or `swk`. Every refusal is the same 401. */
  async signIn(response: PasskeyResponseJSON): Promise<SessionTokens> {
    const stored = typeof response?.id === 'string' ? await this.passkeys.find(response.id) : null;
    if (!stored) return this.deny('unknown_credential');
    // The authenticator says whose credential it is (the user handle): it must be the stored owner.
    const handle = (response.response as { userHandle?: unknown } | undefined)?.userHandle;
    if (typeof handle !== 'string' || !this.sameHandle(handle, stored.subject)) return this.deny('user_handle_mismatch', stored.subject);
    const account = await this.directoryOf().findBySubject(stored.subject);
    if (!account || account.disabled) return this.deny('account_unavailable', stored.subject);
    const method = await this.assert(stored, response, 'sign_in', undefined, (reason) => this.deny(reason, stored.subject));
    return this.sessions.create(stored.subject, { scopes: account.scopes, roles: account.roles, authMethods: [method] });
  }

  /** Options for a step-up: the signed-in user's own credentials only. */
  async stepUpOptions(principal: ZeroTrustPrincipal): Promise<PasskeyCeremonyOptions> {
    const { webauthn, settings } = this.ready();
    this.ownSession(principal);
    const own = await this.passkeys.ofSubject(principal.subject);
    if (own.length === 0) throw new NotFoundException('No passkey is registered for this account');
    return webauthn.generateAuthenticationOptions({
      rpID: settings.rpId,
      challenge: this.challenge('step_up', principal.subject),
      allowCredentials: own.map((passkey) => ({ id: passkey.id, transports: passkey.transports })),
      userVerification: 'required',
    });
  }

  /**
   * A passkey as the second factor inside the session (RFC 9470 step-up): a new access token whose
   * `auth_time` is now and whose `amr` includes `hwk`/`swk`. Another user's credential is refused.
   */
  async stepUp(principal: ZeroTrustPrincipal, response: PasskeyResponseJSON): Promise<ReauthenticatedSession> {
    const sessionId = this.ownSession(principal);
    const stored = typeof response?.id === 'string' ? await this.passkeys.find(response.id) : null;
    const refuse = (reason: string): never => {
      publishLifecycleEvent(this.audit, { type: 'passkey.rejected', outcome: 'denied', reason, principal: { subject: principal.subject, sessionId } });
      throw new ForbiddenException('Invalid credentials');
    };
    if (!stored || stored.subject !== principal.subject) return refuse(stored ? 'credential_of_another_account' : 'unknown_credential');
    const method = await this.assert(stored, response, 'step_up', principal.subject, refuse);
    return this.sessions.reauthenticate(sessionId, principal.subject, [method]);
  }

  async list(subject: string): Promise<PasskeySummary[]> {
    return (await this.passkeys.ofSubject(subject)).map(({ id, name, deviceType, backedUp, createdAt, lastUsedAt }) => ({ id, name, deviceType, backedUp, createdAt, lastUsedAt }));
  }

  /** Removes one of the user's passkeys (behind `@RequireRecentAuth()`); another user's id answers like a missing one. */
  async remove(principal: ZeroTrustPrincipal, id: string): Promise<void> {
    if (!(await this.passkeys.remove(principal.subject, id))) throw new NotFoundException('Resource not found');
    publishLifecycleEvent(this.audit, { type: 'passkey.removed', outcome: 'success', principal: { subject: principal.subject, sessionId: principal.sessionId } });
  }

  /** Verifies an assertion against the stored credential, spends the challenge, moves the counter. Returns the `amr` method. */
  private async assert(stored: StoredPasskey, response: PasskeyResponseJSON, purpose: Purpose, subject: string | undefined, refuse: (reason: string) => never): Promise<string> {
    const { webauthn, settings } = this.ready();
    const spent = this.spender(purpose, subject);
    let verification: Awaited<ReturnType<WebAuthn['verifyAuthenticationResponse']>>;
    try {
      verification = await webauthn.verifyAuthenticationResponse({
        response: response as never,
        expectedChallenge: spent.check,
        expectedOrigin: [...settings.origins],
        expectedRPID: settings.rpId,
        credential: { id: stored.id, publicKey: stored.publicKey as never, counter: stored.counter, transports: stored.transports },
        requireUserVerification: true,
      });
    } catch (error) {
      return refuse(/counter/i.test((error as Error)?.message ?? '') ? 'counter_not_increasing' : 'assertion_invalid');
    }
    if (!verification.verified || !verification.authenticationInfo.userVerified) return refuse('assertion_invalid');
    if (!(await spent.spend())) return refuse('challenge_replayed');
    if (!(await this.passkeys.used(stored.id, stored.subject, stored.counter, verification.authenticationInfo.newCounter))) return refuse('counter_not_increasing');
    publishLifecycleEvent(this.audit, { type: 'passkey.used', outcome: 'success', principal: { subject: stored.subject }, details: { purpose } });
    return methodOf(stored.deviceType);
  }

  private challenge(purpose: Purpose, subject?: string): string {
    const claims: ChallengeClaims = { p: purpose, e: this.clock.now() + this.ready().settings.challengeTtl * 1000, n: randomBytes(16).toString('base64url'), ...(subject ? { s: this.digest(subject) } : {}) };
    const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return `${body}.${this.mac(body)}`;
  }

  /** `check` for simplewebauthn's `expectedChallenge` (the signature, purpose, user and expiry); then `spend`, once. */
  private spender(purpose: Purpose, subject?: string) {
    let claims: ChallengeClaims | undefined;
    const check = (encoded: string): boolean => {
      let text: string;
      try {
        text = Buffer.from(encoded, 'base64url').toString('utf8');
      } catch {
        return false;
      }
      const [body, mac] = text.split('.');
      if (!body || !mac || mac.length !== 43) return false;
      const expected = Buffer.from(this.mac(body));
      if (!timingSafeEqual(expected, Buffer.from(mac))) return false;
      let parsed: ChallengeClaims;
      try {
        parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as ChallengeClaims;
      } catch {
        return false;
      }
      if (parsed.p !== purpose || parsed.e <= this.clock.now() || parsed.s !== (subject ? this.digest(subject) : undefined)) return false;
      claims = parsed;
      return true;
    };
    const spend = async (): Promise<boolean> => {
      if (!claims) return false;
      try {
        return (await this.store.increment(`passkey:challenge:${claims.n}`, Math.max(1000, claims.e - this.clock.now() + 60_000))) === 1;
      } catch (error) {
        this.failures.handle(error, 'auth');
        return true;
      }
    };
    return { check, spend };
  }

  private mac(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }

  private digest(subject: string): string {
    return createHash('sha256').update(subject).digest('base64url').slice(0, 22);
  }

  private userHandle(subject: string): Uint8Array<ArrayBuffer> {
    return new Uint8Array(createHash('sha256').update('zt-user-handle').update(subject).digest());
  }

  private sameHandle(handle: string, subject: string): boolean {
    const given = Buffer.from(handle, 'base64url');
    const expected = Buffer.from(this.userHandle(subject));
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private ownSession(principal: ZeroTrustPrincipal): string {
    if (principal.issuer !== this.auth.issuer || !principal.sessionId) throw new ForbiddenException('Access denied');
    return principal.sessionId;
  }

  private refuse(reason: string, subject: string): never {
    publishLifecycleEvent(this.audit, { type: 'passkey.rejected', outcome: 'denied', reason, principal: { subject } });
    throw new BadRequestException('The passkey could not be registered');
  }

  private deny(reason: string, subject?: string): never {
    publishLifecycleEvent(this.audit, { type: 'passkey.rejected', outcome: 'denied', reason, ...(subject ? { principal: { subject } } : {}) });
    throw new UnauthorizedException('Invalid credentials');
  }

  private directoryOf(): AccountDirectory {
    if (this.directory) return this.directory;
    const given = (this.accounts as AccountsConfig).directory;
    const found = isAccountDirectory(given) ? given : this.moduleRef.get(given as never, { strict: false });
    if (!isAccountDirectory(found)) throw new ZeroTrustConfigurationError('accounts.directory names no provider with findByLogin, findBySubject and verifyPassword.');
    return (this.directory = found);
  }

  private ready() {
    if (this.config === false || this.config.passkeys === false || !this.webauthn) {
      throw new ZeroTrustConfigurationError('PasskeyService needs `lifecycle.passkeys` (`{ rpId, rpName, origins }`).');
    }
    return { webauthn: this.webauthn, settings: this.config.passkeys };
  }
}

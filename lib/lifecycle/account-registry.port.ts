/** One account as the lifecycle flows see it. The password and its hash stay the app's. */
export interface LifecycleAccount {
  /** The stable id written to `sub`. */
  readonly subject: string;
  /** The address mails go to, as the app normalizes it. */
  readonly login: string;
  /** Whether the address was proven (a verification link, or a password reset, which proves the mailbox too). */
  readonly verified: boolean;
  readonly disabled?: boolean;
  /**
   * Anything that changes whenever the password changes (the hash itself, a version counter, an
   * update time). A reset token remembers a digest of it and is void once it differs, so a reset link
   * mailed before a password change cannot undo that change. Optional: without it, tokens are voided by
   * `PasswordResetService.passwordChanged()` and by the `password.changed` audit event.
   */
  readonly passwordStamp?: string;
}

/**
 * The accounts port of the lifecycle flows (registration, verification, password reset): the app
 * implements it over its users table and its password hashing. Give it as `lifecycle: { registry }`
 * (an injection token or an object).
 */
export interface AccountRegistry {
  findByLogin(login: string): Promise<LifecycleAccount | null>;
  findBySubject(subject: string): Promise<LifecycleAccount | null>;
  /**
   * Creates an unverified account with this password (hashed by the app), or answers `null` when the
   * login is taken. It must do the same hashing work in both cases (hash first, then insert), so that
   * timing does not tell a taken address from a new one; it must not throw for a taken login.
   */
  create(login: string, password: string): Promise<LifecycleAccount | null>;
  /**
   * Marks the address proven. `token` is the clear value of the mailed link that proved it (a
   * verification or a reset link, already spent): a database that keeps the verified column out of the
   * runtime role's reach (`LifecycleCredentialsMigration`) sets it only for a live token of that account
   * (`UserCredentials.markVerified`), so injected SQL, which knows no token, cannot.
   */
  markVerified(subject: string, token: string): Promise<void>;
  /** Replaces the password (hashed by the app); the `passwordStamp` must change with it. */
  setPassword(subject: string, password: string): Promise<void>;
}

export function isAccountRegistry(value: unknown): value is AccountRegistry {
  if (value === null || typeof value !== 'object') return false;
  const registry = value as AccountRegistry;
  return ['findByLogin', 'findBySubject', 'create', 'markVerified', 'setPassword'].every((name) => typeof registry[name as keyof AccountRegistry] === 'function');
}

/**
 * One login attempt of an account, reserved by `AccountLockoutService.begin()` atomically with the lock
 * check. Settle it once: `fail()` for a wrong password or a wrong second factor, `succeed()` when the whole
 * login succeeded; later calls do nothing.
 */
export interface LoginAttempt {
  /**
   * `false`: the account is locked, or all `threshold` attempts of the window are in use (finished or in
   * flight). Do not check the password; answer exactly like a wrong password (same status, body and
   * hashing work), so the lock reveals nothing.
   */
  readonly allowed: boolean;
  /** A wrong password or a wrong second factor: the reserved attempt stays counted, and may lock the account (`auth.lockout`). */
  fail(): Promise<void>;
  /** The whole login succeeded (password and every factor): clears the failure count, not the escalation level. */
  succeed(): Promise<void>;
}

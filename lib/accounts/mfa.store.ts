/** What is stored about one subject's second factor. Secrets are ciphertexts (`TotpSecretCipher`), never clear. */
export interface MfaRecord {
  /** The active TOTP secret, encrypted; `null` when MFA is off. */
  readonly secret: string | null;
  /** A secret being enrolled, encrypted, until its first code confirms it (the active one stays in force meanwhile). */
  readonly pendingSecret: string | null;
  /** The last TOTP time step accepted: a code of this step or earlier is a replay. */
  readonly lastUsedStep: number | null;
}

/**
 * The MFA persistence port: second factors and one-time recovery codes per subject. Every method that
 * spends something (a time step, a recovery code, a pending enrolment) must be one atomic conditional
 * write, so that N parallel requests presenting the same code get exactly one success: a read followed
 * by a write lets them all pass. The module's adapter is `TypeOrmMfaStore` (tables from
 * `ZeroTrustMfa1732000120000`); give another with `accounts: { mfaStore }`.
 */
export abstract class MfaStore {
  abstract find(subject: string): Promise<MfaRecord | null>;

  /** Starts (or restarts) an enrolment; an active factor is left as it is. */
  abstract savePending(subject: string, encryptedSecret: string): Promise<void>;

  /**
   * Only if the pending secret is still `pending`: it becomes the active secret with `step` as its last
   * used step, and the recovery codes are replaced by `recoveryCodeHashes`. Returns whether it happened.
   */
  abstract activate(subject: string, pending: string, step: number, recoveryCodeHashes: readonly string[]): Promise<boolean>;

  /** Compare-and-set: records `step` only if the active secret is still `secret` and `step` is later than the last one. */
  abstract useStep(subject: string, secret: string, step: number): Promise<boolean>;

  /** Spends a recovery code: true only for the one request that marked it used, while MFA is on. */
  abstract useRecoveryCode(subject: string, codeHash: string): Promise<boolean>;

  /** Replaces every recovery code while MFA is on; returns whether it was on. */
  abstract replaceRecoveryCodes(subject: string, codeHashes: readonly string[]): Promise<boolean>;

  abstract remainingRecoveryCodes(subject: string): Promise<number>;

  /** Compare-and-set of the active secret (re-encryption under a new key). */
  abstract replaceSecret(subject: string, from: string, to: string): Promise<boolean>;

  /** Removes the factor, any pending enrolment and every recovery code; returns whether there was anything. */
  abstract remove(subject: string): Promise<boolean>;
}

export function isMfaStore(value: unknown): value is MfaStore {
  if (value === null || typeof value !== 'object') return false;
  return ['find', 'savePending', 'activate', 'useStep', 'useRecoveryCode', 'replaceRecoveryCodes', 'remainingRecoveryCodes', 'replaceSecret', 'remove'].every(
    (method) => typeof (value as Record<string, unknown>)[method] === 'function',
  );
}

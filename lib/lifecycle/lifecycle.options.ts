import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import type { CoreConfig } from '../core/core.options.js';
import { array, custom, disableable, integer, object, optional, seconds, section, string } from '../core/option-schema.js';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';
import type { InjectionToken } from '../database/database.options.js';
import { type AccountRegistry, isAccountRegistry } from './account-registry.port.js';
import { isMailer, type Mailer } from './mailer.port.js';

/** The command every key error names. */
export const PROOF_OF_WORK_KEY_COMMAND = 'openssl rand -base64 32';

export interface PasswordPolicyOptions {
  /** Fewest characters (Unicode code points, NIST SP 800-63B §3.1.1.2). Default 12. */
  minLength?: number;
  /** Most characters: long enough for any passphrase, short enough that hashing is not a DoS. Default 128. */
  maxLength?: number;
  /** Least zxcvbn score (0–4) after the common-password and dictionary checks. Default 3. */
  minScore?: number;
  /** More words that may not make up a password (the product's name...). Default none. */
  forbiddenWords?: string[];
}

export interface ProofOfWorkOptions {
  /**
   * The HMAC key that signs challenges: 32 bytes or more, base64 (`openssl rand -base64 32`), the same on
   * every instance. Required in production; otherwise an ephemeral key is generated with a warning.
   */
  hmacKey?: string;
  /** The largest counter a challenge may need (ALTCHA's `maxnumber`): a browser tries half of it on average. Default 50 000. */
  difficulty?: number;
  /** The same for a client address or an account the anomaly rules flagged (and while it is flagged). Default 1 000 000. */
  raisedDifficulty?: number;
  /** How long a flag raises the difficulty, in seconds. Default 3600. */
  flagDuration?: number;
  /** Seconds a challenge stays solvable. Default 300. */
  expiresIn?: number;
  /** For `@ProofOfWork({ afterFailures: true })`: authentication failures of one address within `failureWindow` before work is asked. Default 3. */
  failuresBeforeChallenge?: number;
  /** Seconds those failures are counted in. Default 900. */
  failureWindow?: number;
}

export interface LifecycleOptions {
  /** The app's accounts for registration, verification and reset (`AccountRegistry`): an object or an injection token. Required. */
  registry: AccountRegistry | InjectionToken;
  /** Where mail goes (`Mailer`): an object or an injection token. Default `DevelopmentMailer` (refused in production). */
  mailer?: Mailer | InjectionToken;
  /** The links mailed: the token is appended (URL-encoded) to these. */
  links: { verifyAddress: string; resetPassword: string };
  passwordPolicy?: PasswordPolicyOptions;
  proofOfWork?: ProofOfWorkOptions;
  /** Seconds a verification link stays valid. Default 86 400. */
  verificationTokenTtl?: number;
  /**
   * Registration and reset requests answer no sooner than this many seconds after they arrive, so the
   * work that differs between a known and an unknown address (a token written, an account looked up)
   * does not show in the response time. Default 0.25.
   */
  responseFloor?: number;
  /** Password reset: link lifetime (default 900 s) and requests per account and per client address per window. */
  passwordReset?: { tokenTtl?: number; perAccount?: number; perAddress?: number; window?: number };
  /**
   * Passkeys (WebAuthn, `PasskeyService`): the relying party's id (the site's domain, `localhost` in
   * development) and name, and the exact origins allowed to use them. Default: off.
   */
  passkeys?: PasskeyOptions | false;
}

export interface PasskeyOptions {
  rpId: string;
  rpName: string;
  /** Every origin a ceremony may come from (`https://app.example`); nothing else is accepted. */
  origins: string[];
  /** Seconds a ceremony's challenge stays valid. Default 300. */
  challengeTtl?: number;
}

export interface LifecycleOptionsRoot {
  /**
   * Account lifecycle in the library: enumeration-free registration with e-mail verification
   * (`RegistrationService`), password reset (`PasswordResetService`), the NIST password policy
   * (`PasswordPolicy`) and proof of work (`@ProofOfWork()`, ALTCHA-compatible). Needs `sessions` and
   * the `ZeroTrustLifecycle1732000130000` migration. Default: off.
   */
  lifecycle?: LifecycleOptions | false;
}

const tokenOr = <T>(expected: string, isPort: (value: unknown) => value is T) =>
  custom<T | InjectionToken>(`${expected}, or the injection token of a provider that is one`, (value) =>
    typeof value === 'function' || typeof value === 'string' || typeof value === 'symbol' || isPort(value) ? (value as T | InjectionToken) : undefined,
  );

const hmacKey = custom<Buffer>(`32 bytes or more, base64-encoded (generate one with: ${PROOF_OF_WORK_KEY_COMMAND})`, (value) => {
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(value.trim())) return undefined;
  const bytes = Buffer.from(value.trim(), 'base64');
  return bytes.length >= 32 ? bytes : undefined;
});

const link = string({ pattern: /^https?:\/\/\S+$/, expected: 'an absolute http(s) URL the token is appended to' });

export const lifecycleOptionsSchema = object({
  lifecycle: disableable(
    object({
      registry: tokenOr<AccountRegistry>('an AccountRegistry (findByLogin, findBySubject, create, markVerified, setPassword)', isAccountRegistry),
      mailer: optional(tokenOr<Mailer>('a Mailer (send)', isMailer)),
      links: object({ verifyAddress: link, resetPassword: link }),
      passwordPolicy: section({
        minLength: integer({ min: 8, max: 64, default: 12 }),
        maxLength: integer({ min: 64, max: 1024, default: 128 }),
        minScore: integer({ min: 0, max: 4, default: 3 }),
        forbiddenWords: array(string(), { default: [] }),
      }),
      proofOfWork: section({
        hmacKey: optional(hmacKey),
        difficulty: integer({ min: 1, max: 100_000_000, default: 50_000 }),
        raisedDifficulty: integer({ min: 1, max: 100_000_000, default: 1_000_000 }),
        flagDuration: seconds({ min: 1, max: 7 * 86_400, default: 3600 }),
        expiresIn: seconds({ min: 1, max: 86_400, default: 300 }),
        failuresBeforeChallenge: integer({ min: 1, max: 10_000, default: 3 }),
        failureWindow: seconds({ min: 1, max: 86_400, default: 900 }),
      }),
      verificationTokenTtl: seconds({ min: 60, max: 30 * 86_400, default: 86_400 }),
      responseFloor: seconds({ min: 0, max: 5, default: 0.25 }),
      passwordReset: section({
        tokenTtl: seconds({ min: 60, max: 86_400, default: 900 }),
        perAccount: integer({ min: 1, max: 1000, default: 3 }),
        perAddress: integer({ min: 1, max: 10_000, default: 10 }),
        window: seconds({ min: 1, max: 86_400, default: 3600 }),
      }),
      passkeys: disableable(
        object({
          rpId: string({ pattern: /^[a-z0-9.-]+$/, expected: 'a domain name such as app.example (no scheme, no port)' }),
          rpName: string(),
          origins: array(string({ pattern: /^https?:\/\/[^/\s]+$/, expected: 'an origin such as https://app.example (no path)' }), { minItems: 1 }),
          challengeTtl: seconds({ min: 10, max: 3600, default: 300 }),
        }),
        { default: 'off' },
      ),
    }),
    { default: 'off' },
  ),
});

export interface LifecycleConfig {
  readonly registry: AccountRegistry | InjectionToken;
  readonly mailer?: Mailer | InjectionToken;
  readonly links: { readonly verifyAddress: string; readonly resetPassword: string };
  readonly passwordPolicy: { readonly minLength: number; readonly maxLength: number; readonly minScore: number; readonly forbiddenWords: readonly string[] };
  readonly proofOfWork: {
    readonly hmacKey: Buffer;
    readonly difficulty: number;
    readonly raisedDifficulty: number;
    readonly flagDuration: number;
    readonly expiresIn: number;
    readonly failuresBeforeChallenge: number;
    readonly failureWindow: number;
  };
  readonly verificationTokenTtl: number;
  readonly responseFloor: number;
  readonly passwordReset: { readonly tokenTtl: number; readonly perAccount: number; readonly perAddress: number; readonly window: number };
  readonly passkeys: { readonly rpId: string; readonly rpName: string; readonly origins: readonly string[]; readonly challengeTtl: number } | false;
  readonly production: boolean;
}

export function resolveLifecycleOptions(raw: Record<string, unknown>, core: CoreConfig): LifecycleConfig | false {
  const { lifecycle } = lifecycleOptionsSchema.pick(raw);
  if (lifecycle === false) return false;
  if (raw.sessions === undefined || raw.sessions === false) {
    throw new ZeroTrustConfigurationError('lifecycle revokes every session at a password reset: turn sessions on as well (`sessions: {}`).');
  }
  const { passwordPolicy, proofOfWork } = lifecycle;
  if (passwordPolicy.maxLength < passwordPolicy.minLength) {
    throw new ZeroTrustConfigurationError(`lifecycle.passwordPolicy.maxLength (${passwordPolicy.maxLength}) is below minLength (${passwordPolicy.minLength}).`);
  }
  if (proofOfWork.raisedDifficulty < proofOfWork.difficulty) {
    throw new ZeroTrustConfigurationError(`lifecycle.proofOfWork.raisedDifficulty (${proofOfWork.raisedDifficulty}) is below difficulty (${proofOfWork.difficulty}): a flag would lower the work.`);
  }
  let key = proofOfWork.hmacKey;
  if (!key) {
    if (core.production) {
      throw new ZeroTrustConfigurationError(
        `lifecycle.proofOfWork.hmacKey is required in production: it signs the challenges, and every instance must share it. Generate one with \`${PROOF_OF_WORK_KEY_COMMAND}\`.`,
      );
    }
    new Logger('ZeroTrustModule').warn(
      `lifecycle.proofOfWork.hmacKey is not set: generated an EPHEMERAL key (challenges of other instances and of before a restart fail). Set one before production (\`${PROOF_OF_WORK_KEY_COMMAND}\`).`,
    );
    key = randomBytes(32);
  }
  return {
    registry: lifecycle.registry,
    ...(lifecycle.mailer === undefined ? {} : { mailer: lifecycle.mailer }),
    links: lifecycle.links,
    passwordPolicy,
    proofOfWork: { ...proofOfWork, hmacKey: key },
    verificationTokenTtl: lifecycle.verificationTokenTtl,
    responseFloor: lifecycle.responseFloor,
    passwordReset: lifecycle.passwordReset,
    passkeys: lifecycle.passkeys,
    production: core.production,
  };
}

import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import type { CoreConfig } from '../core/core.options.js';
import { array, custom, defaulted, disableable, integer, object, optional, seconds, section } from '../core/option-schema.js';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';
import type { InjectionToken } from '../database/database.options.js';
import { TOTP_KEY_BYTES } from '../mfa/totp-secret.cipher.js';
import { type AccountDirectory, isAccountDirectory } from './account-directory.port.js';
import { isMfaStore, type MfaStore } from './mfa.store.js';

/** The command every key error names. */
export const TOTP_KEY_COMMAND = 'openssl rand -base64 32';

export interface AccountOptions {
  /** The application's accounts (`AccountDirectory`): an object, or the injection token of a provider of the app. Required. */
  directory: AccountDirectory | InjectionToken;
  /**
   * The AES-256-GCM key that encrypts TOTP secrets at rest: 32 bytes, base64 (`openssl rand -base64 32`).
   * From configuration (a secret manager, an environment variable), never from the database it protects.
   * Required in production; outside it, an ephemeral key is generated with a warning.
   */
  totpEncryptionKey?: string;
  /** Keys in use before a rotation: they still decrypt (and the secret is re-encrypted with the new key at its next use), never encrypt. Default none. */
  previousTotpEncryptionKeys?: string[];
  /**
   * Second-factor codes one account may try per window, from any address (a password holder guessing
   * TOTP codes is bounded here even with the lockout off). Default `{ limit: 5, window: 900 }`.
   */
  codeGuesses?: { limit?: number; window?: number };
  /** How recent, in seconds, the authentication behind `@RequireRecentAuth()` routes must be (RFC 9470 `max_age`). Default 300. */
  reauthenticationMaxAge?: number;
  /** Where second factors and recovery codes live (`MfaStore`): an object or an injection token. Default `TypeOrmMfaStore`. */
  mfaStore?: MfaStore | InjectionToken;
}

export interface AccountsOptions {
  /**
   * Sign-in in the library: lockout-aware login and reauthentication (`SignInService`), TOTP second factors
   * and one-time recovery codes stored encrypted through the `MfaStore` port (`MfaService`), and
   * `@RequireRecentAuth()`. Needs `sessions` and the `ZeroTrustMfa1732000120000` migration. Default: off.
   */
  accounts?: AccountOptions | false;
}

const tokenOr = <T>(expected: string, isPort: (value: unknown) => value is T) =>
  custom<T | InjectionToken>(`${expected}, or the injection token of a provider that is one`, (value) =>
    typeof value === 'function' || typeof value === 'string' || typeof value === 'symbol' || isPort(value) ? (value as T | InjectionToken) : undefined,
  );

const key = custom<Buffer>(`${TOTP_KEY_BYTES} bytes, base64-encoded (generate one with: ${TOTP_KEY_COMMAND})`, (value) => {
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(value.trim())) return undefined;
  const bytes = Buffer.from(value.trim(), 'base64');
  return bytes.length === TOTP_KEY_BYTES ? bytes : undefined;
});

export const accountsOptionsSchema = object({
  accounts: disableable(
    object({
      directory: tokenOr<AccountDirectory>('an AccountDirectory (findByLogin, findBySubject, verifyPassword)', isAccountDirectory),
      totpEncryptionKey: optional(key),
      previousTotpEncryptionKeys: defaulted(array(key), () => []),
      codeGuesses: section({
        limit: integer({ min: 1, max: 100, default: 5 }),
        window: seconds({ min: 1, max: 86_400, default: 900 }),
      }),
      reauthenticationMaxAge: seconds({ min: 1, max: 86_400, default: 300 }),
      mfaStore: optional(tokenOr<MfaStore>('an MfaStore', isMfaStore)),
    }),
    { default: 'off' },
  ),
});

export interface AccountsConfig {
  readonly directory: AccountDirectory | InjectionToken;
  /** The key that encrypts first, then the previous ones. */
  readonly totpKeys: readonly Buffer[];
  readonly codeGuesses: { readonly limit: number; readonly window: number };
  readonly reauthenticationMaxAge: number;
  readonly mfaStore?: MfaStore | InjectionToken;
}

export function resolveAccountsOptions(raw: Record<string, unknown>, core: CoreConfig): AccountsConfig | false {
  const { accounts } = accountsOptionsSchema.pick(raw);
  if (accounts === false) return false;
  if (raw.sessions === undefined || raw.sessions === false) {
    throw new ZeroTrustConfigurationError('accounts signs users in with sessions: turn them on as well (`sessions: {}`).');
  }
  let current = accounts.totpEncryptionKey;
  if (!current) {
    if (core.production) {
      throw new ZeroTrustConfigurationError(
        `accounts.totpEncryptionKey is required in production: TOTP secrets are encrypted at rest with it. Generate one with \`${TOTP_KEY_COMMAND}\` ` +
          'and give it from your secret manager (never from the database it protects).',
      );
    }
    new Logger('ZeroTrustModule').warn(
      'accounts.totpEncryptionKey is not set: generated an EPHEMERAL key. TOTP enrolments made now cannot be read after a restart ' +
        `(their users then sign in with a recovery code). Set one before production (\`${TOTP_KEY_COMMAND}\`); the module refuses to start there without it.`,
    );
    current = randomBytes(TOTP_KEY_BYTES);
  }
  if (accounts.previousTotpEncryptionKeys.some((previous) => previous.equals(current))) {
    throw new ZeroTrustConfigurationError('accounts.previousTotpEncryptionKeys repeats totpEncryptionKey: list only the keys that came before it.');
  }
  return {
    directory: accounts.directory,
    totpKeys: [current, ...accounts.previousTotpEncryptionKeys],
    codeGuesses: accounts.codeGuesses,
    reauthenticationMaxAge: accounts.reauthenticationMaxAge,
    ...(accounts.mfaStore === undefined ? {} : { mfaStore: accounts.mfaStore }),
  };
}

import { createHash, createHmac } from 'node:crypto';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';

/** The command every pepper error names. */
export const PASSWORD_PEPPER_COMMAND = 'openssl rand -base64 32';
export const MIN_PASSWORD_PEPPER_BYTES = 32;
/**
 * Marks a peppered hash: `zp1$<key id>` in front of the hash's own PHC string (`$argon2id$v=19$…`).
 * `UserCredentialsMigration` refuses to store a hash without it, so SQL injected as the runtime role
 * cannot plant a hash it computed itself (it does not hold the pepper).
 */
export const PEPPERED_HASH_PREFIX = 'zp1$';

/** What to hash, and how to wrap the result, for one password against one stored hash (or its settings). */
export interface PepperedInput {
  /** The input of the slow hash: the HMAC of the password under the hash's key, or the password itself for a legacy hash. */
  readonly input: string;
  /** The stored value without the pepper marker: a PHC string (or its settings part) of the app's hashing. */
  readonly inner: string;
  /** Puts the marker back in front of a PHC string computed from `input`. */
  seal(hash: string): string;
  /** False for a legacy (unpeppered) hash or one under a previous key: hash the password again at the next successful login. */
  readonly current: boolean;
}

/**
 * The app-held key mixed into every password before the slow hash (argon2id...): the stored value is
 * `argon2(HMAC-SHA256(pepper, password))`, so a copy of the users table (a dump, a backup, SQL injection)
 * alone cannot be cracked offline: every guess needs the pepper, which lives in the app's configuration,
 * never in the database. The HMAC output (base64, 44 characters) also caps what reaches the slow hash,
 * so a megabyte "password" costs one HMAC.
 *
 * Rotation: the new key first, the old ones in `previousKeys`; each hash names the id of its key (the
 * first 8 hex digits of a SHA-256 of the key), and a hash under an old key or without a pepper (made
 * before it was introduced) reports `current: false`, so the app re-hashes it at the next successful login.
 */
export class PasswordPepper {
  private readonly keys = new Map<string, Buffer>();
  private readonly currentId: string;

  constructor(key: string, previousKeys: readonly string[] = []) {
    const [first, ...rest] = [key, ...previousKeys].map((value, index) => PasswordPepper.parse(value, index === 0 ? 'the password pepper' : `previous pepper #${index}`));
    this.currentId = keyId(first);
    this.keys.set(this.currentId, first);
    for (const previous of rest) {
      const id = keyId(previous);
      if (this.keys.has(id)) throw new ZeroTrustConfigurationError('a previous password pepper repeats another key: list each key once, the current one first.');
      this.keys.set(id, previous);
    }
  }

  /** For a new hash: the slow hash's input under the current key, and the marker to put in front of its result. */
  forNewHash(password: string): PepperedInput {
    return this.under(this.currentId, password, '');
  }

  /**
   * For a stored hash, or its settings (the hash without its last `$` part, as the database's
   * `zt_<table>_password_settings()` answers): what to hash. `null` when the hash names a key this app
   * does not hold (the key was dropped from `previousKeys` too early): no password can match it then.
   */
  open(stored: string, password: string): PepperedInput | null {
    if (!stored.startsWith(PEPPERED_HASH_PREFIX)) return { input: password, inner: stored, seal: (hash) => hash, current: false };
    const rest = stored.slice(PEPPERED_HASH_PREFIX.length);
    const end = rest.indexOf('$');
    if (end < 1) return null;
    const id = rest.slice(0, end);
    return this.keys.has(id) ? this.under(id, password, rest.slice(end)) : null;
  }

  private under(id: string, password: string, inner: string): PepperedInput {
    const input = createHmac('sha256', this.keys.get(id)!).update(password, 'utf8').digest('base64');
    return { input, inner, seal: (hash) => `${PEPPERED_HASH_PREFIX}${id}${hash}`, current: id === this.currentId };
  }

  private static parse(value: string, what: string): Buffer {
    const trimmed = typeof value === 'string' ? value.trim() : '';
    const bytes = /^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed) ? Buffer.from(trimmed, 'base64') : Buffer.alloc(0);
    if (bytes.length < MIN_PASSWORD_PEPPER_BYTES) {
      throw new ZeroTrustConfigurationError(
        `${what} must be at least ${MIN_PASSWORD_PEPPER_BYTES} random bytes, base64-encoded: generate one with \`${PASSWORD_PEPPER_COMMAND}\` ` +
          'and give it from your secret manager (never from the database whose hashes it protects).',
      );
    }
    return bytes;
  }
}

function keyId(key: Buffer): string {
  return createHash('sha256').update('nestjs-zero-trust password pepper id\0').update(key).digest('hex').slice(0, 8);
}

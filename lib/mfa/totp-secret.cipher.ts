import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/** AES-256 keys are 32 bytes; the option takes them base64-encoded (`openssl rand -base64 32`). */
export const TOTP_KEY_BYTES = 32;
const FORMAT = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

interface CipherKey {
  readonly id: string;
  readonly key: Buffer;
}

/** A short, stable id of a key (not the key): stored with each ciphertext so a rotated key is found again. */
export function totpKeyId(key: Buffer): string {
  return createHash('sha256').update('zt-totp-key-id').update(key).digest('base64url').slice(0, 8);
}

/**
 * Encrypts TOTP shared secrets at rest. A TOTP secret is a password the server must be able to read back,
 * so hashing is impossible; a copy of the database (a backup, SQL injection, a replica) must still not
 * yield anyone's second factor. The key comes from configuration, never from the database.
 *
 * AES-256-GCM (NIST SP 800-38D) with a random 96-bit IV per secret. The subject is the additional
 * authenticated data: a ciphertext moved to another account's row (someone with write access copying
 * their own enrolment over a victim's) fails to decrypt instead of giving them the victim's second factor.
 * Stored form: `v1.<key id>.<iv>.<ciphertext>.<tag>` (base64url). The first key encrypts; every key
 * decrypts, so keys can be rotated (old secrets are re-encrypted with the new key when next used).
 */
export class TotpSecretCipher {
  private readonly keys: readonly CipherKey[];

  constructor(keys: readonly Buffer[]) {
    if (keys.length === 0) throw new TypeError('TotpSecretCipher needs at least one key');
    for (const key of keys) if (key.length !== TOTP_KEY_BYTES) throw new TypeError(`a TOTP encryption key must be ${TOTP_KEY_BYTES} bytes`);
    this.keys = keys.map((key) => ({ id: totpKeyId(key), key }));
  }

  encrypt(secret: string, subject: string): string {
    const { id, key } = this.keys[0];
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad(subject));
    const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return [FORMAT, id, iv.toString('base64url'), body.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
  }

  /** The secret, or `null` when the value was not made by one of our keys for this subject (or was altered). */
  decrypt(stored: string, subject: string): string | null {
    const parts = stored.split('.');
    if (parts.length !== 5 || parts[0] !== FORMAT) return null;
    const [, id, iv, body, tag] = parts;
    const entry = this.keys.find((candidate) => candidate.id === id);
    if (!entry) return null;
    try {
      const decipher = createDecipheriv('aes-256-gcm', entry.key, Buffer.from(iv, 'base64url'), { authTagLength: TAG_BYTES });
      decipher.setAAD(aad(subject));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      // GCM authentication failed: another key, another subject, or a changed byte. Not a secret of this account.
      return null;
    }
  }

  /** Whether a stored value was encrypted with an older key (and should be re-encrypted). */
  isStale(stored: string): boolean {
    return stored.split('.')[1] !== this.keys[0].id;
  }
}

function aad(subject: string): Buffer {
  return Buffer.from(`zt-totp-secret:v1:${subject}`, 'utf8');
}

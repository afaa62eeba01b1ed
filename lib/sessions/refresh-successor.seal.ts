import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const INFO = 'nestjs-zero-trust refresh successor v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A key only the holder of `presented` can derive: the database stores that token as a SHA-256 hash, never itself. */
function keyFor(presented: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(presented, 'utf8'), Buffer.alloc(0), INFO, 32));
}

/**
 * Seals the refresh token that replaced `presented`, for the refresh grace period: presented again
 * within it, `presented` opens the seal and yields the same successor. Refresh tokens stay out of the
 * database in clear (a copy of the table opens nothing without the older token), and the seal is dropped
 * at the successor's own rotation. AES-256-GCM with an HKDF-SHA256 key (RFC 5869) of the presented token.
 */
export function sealSuccessor(presented: string, successor: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keyFor(presented), iv, { authTagLength: TAG_BYTES });
  const body = Buffer.concat([cipher.update(successor, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url');
}

/** The sealed successor, or `null` if `presented` is not the token it was sealed for (or the seal was altered). */
export function openSuccessor(presented: string, sealed: string): string | null {
  const bytes = Buffer.from(sealed, 'base64url');
  if (bytes.length <= IV_BYTES + TAG_BYTES) return null;
  try {
    const decipher = createDecipheriv('aes-256-gcm', keyFor(presented), bytes.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    return null;
  }
}

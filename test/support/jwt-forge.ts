import { createHmac, type KeyObject, sign } from 'node:crypto';

/** Builds JWTs by hand, so tests can produce exactly the malformed or hostile tokens attackers send. */
export const b64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');

export function forgeToken(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  signer: (signingInput: string) => Buffer | string,
): string {
  const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  const signature = signer(signingInput);
  return `${signingInput}.${typeof signature === 'string' ? signature : b64url(signature)}`;
}

export const es256 = (key: KeyObject) => (input: string) => sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
export const rs256 = (key: KeyObject) => (input: string) => sign('sha256', Buffer.from(input), key);
export const hs256 = (secret: Buffer | string) => (input: string) => createHmac('sha256', secret).update(input).digest();
export const unsigned = () => '';

export const nowSeconds = () => Math.floor(Date.now() / 1000);

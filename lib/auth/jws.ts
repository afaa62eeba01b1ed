import { createHmac, KeyObject, sign as cryptoSign, timingSafeEqual, verify as cryptoVerify } from 'node:crypto';
import { AccessTokenRejection } from './access-token-rejection.js';

/** Algorithms of signed tokens this module implements. `none` is not representable on purpose. */
export type JwsAlgorithm = 'ES256' | 'RS256' | 'EdDSA' | 'HS256';

export interface DecodedJws {
  readonly header: Readonly<Record<string, unknown>>;
  readonly claims: Readonly<Record<string, unknown>>;
  /** `base64url(header) . base64url(payload)`: the bytes the signature covers. */
  readonly signingInput: string;
  readonly signature: Buffer;
}

/**
 * The whole compact serialization in one pass: three base64url parts (RFC 7515 §7.1, RFC 4648 §5
 * without padding). Node's base64url decoder skips characters outside the alphabet instead of failing,
 * so without this check two different strings would decode to the same token.
 */
const COMPACT_JWS = /^[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;

function decodePart(part: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw new AccessTokenRejection('malformed', `${what} is not JSON`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new AccessTokenRejection('malformed', `${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

/**
 * Splits a JWS compact serialization (RFC 7515 §7.1) without trusting any of it yet. On the request
 * path of every token never seen before: one regular-expression pass, slices instead of an array of
 * copies, and the signing input as a slice of the token rather than a string rebuilt from its parts.
 */
export function decodeJws(token: string, headers?: JwsHeaderCache): DecodedJws {
  if (!COMPACT_JWS.test(token)) throw new AccessTokenRejection('malformed', 'not a JWS compact serialization of base64url parts');
  const first = token.indexOf('.');
  const second = token.indexOf('.', first + 1);
  const headerPart = token.slice(0, first);
  return {
    header: headers ? headers.parse(headerPart) : decodePart(headerPart, 'header'),
    claims: decodePart(token.slice(first + 1, second), 'payload'),
    signingInput: token.slice(0, second),
    signature: Buffer.from(token.slice(second + 1), 'base64url'),
  };
}

/**
 * Parsed JWS headers by their exact base64url text. Every token one key signs has the same header
 * (`{"alg":…,"typ":…,"kid":…}`), so a verifier decodes it once instead of per token (issue 16). Only
 * short headers are kept, as frozen objects nobody can change for the next token, at most 64 of them:
 * past that the cache starts over, so headers an attacker varies cost memory nothing and others one
 * parse each. The text is the key, so two headers share an entry only if they are the same bytes.
 */
export class JwsHeaderCache {
  private readonly parsed = new Map<string, Readonly<Record<string, unknown>>>();

  parse(part: string): Readonly<Record<string, unknown>> {
    const known = this.parsed.get(part);
    if (known) return known;
    const header = decodePart(part, 'header');
    // Nested values (a `jwk`) would stay mutable under a shallow freeze: such headers are parsed every time.
    if (part.length > 256 || Object.values(header).some((value) => value !== null && typeof value === 'object')) return header;
    if (this.parsed.size >= 64) this.parsed.clear();
    this.parsed.set(part, Object.freeze(header));
    return header;
  }
}

/**
 * Checks the signature with the one key and algorithm the configuration bound together (RFC 8725
 * §3.1): the token's `alg` only selects among them, it never decides how a key is used.
 */
export function verifyJwsSignature(token: DecodedJws, alg: JwsAlgorithm, key: KeyObject): boolean {
  const data = Buffer.from(token.signingInput, 'ascii');
  switch (alg) {
    case 'ES256':
      // JWS carries ECDSA signatures as r||s (RFC 7518 §3.4), 64 bytes for P-256; anything else is forged or truncated.
      return token.signature.length === 64 && cryptoVerify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, token.signature);
    case 'RS256':
      return cryptoVerify('sha256', data, key, token.signature);
    case 'EdDSA':
      return cryptoVerify(null, data, key, token.signature);
    case 'HS256': {
      const expected = createHmac('sha256', key).update(data).digest();
      return expected.length === token.signature.length && timingSafeEqual(expected, token.signature);
    }
  }
}

/** Signs `claims` as a compact JWS with the header given. */
export function signJws(header: Record<string, unknown>, claims: Record<string, unknown>, alg: JwsAlgorithm, key: KeyObject): string {
  const input = `${Buffer.from(JSON.stringify({ ...header, alg })).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  const data = Buffer.from(input, 'ascii');
  let signature: Buffer;
  switch (alg) {
    case 'ES256':
      signature = cryptoSign('sha256', data, { key, dsaEncoding: 'ieee-p1363' });
      break;
    case 'RS256':
      signature = cryptoSign('sha256', data, key);
      break;
    case 'EdDSA':
      signature = cryptoSign(null, data, key);
      break;
    case 'HS256':
      signature = createHmac('sha256', key).update(data).digest();
      break;
  }
  return `${input}.${signature.toString('base64url')}`;
}

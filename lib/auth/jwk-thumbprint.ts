import { createHash } from 'node:crypto';

/**
 * The members RFC 7638 §3.2 hashes, in lexicographic order, per key type. Anything else in the JWK
 * (`kid`, `alg`, `use`...) is left out, so a client cannot change the thumbprint by decorating its key.
 */
const REQUIRED_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  EC: ['crv', 'kty', 'x', 'y'],
  OKP: ['crv', 'kty', 'x'],
  RSA: ['e', 'kty', 'n'],
};

/**
 * RFC 7638 JWK SHA-256 thumbprint, base64url: the `cnf.jkt` of a DPoP-bound token (RFC 9449 §6.1).
 * Returns undefined for a key type without a thumbprint definition here or with a member missing.
 * Synchronous on purpose: it runs on every DPoP-checked request (jose's equivalent is async WebCrypto).
 */
export function jwkThumbprint(jwk: Readonly<Record<string, unknown>>): string | undefined {
  const members = typeof jwk.kty === 'string' ? REQUIRED_MEMBERS[jwk.kty] : undefined;
  if (!members) return undefined;
  const canonical: Record<string, string> = {};
  for (const name of members) {
    const value = jwk[name];
    if (typeof value !== 'string' || value === '') return undefined;
    canonical[name] = value;
  }
  // JSON.stringify keeps insertion order, which is the sorted order above: the RFC's canonical form.
  return createHash('sha256').update(JSON.stringify(canonical)).digest('base64url');
}

import {
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  generateKeyPairSync,
  type JsonWebKey,
  KeyObject,
  randomBytes,
} from 'node:crypto';
import { describe, didYouMean, isPlainObject } from '../core/option-schema.js';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';

import type { JwsAlgorithm } from './jws.js';

/** Algorithms an access token may be signed with. `none` is not representable on purpose. */
export type AccessTokenAlgorithm = JwsAlgorithm;
export const ACCESS_TOKEN_ALGORITHMS: readonly AccessTokenAlgorithm[] = ['ES256', 'RS256', 'EdDSA', 'HS256'];

export interface SigningKeyOptions {
  /** Key id: written to the token header `kid` and matched exactly (never used as a path or URL). */
  kid: string;
  /** The one algorithm this key is used with (RFC 8725 §3.1: a key is bound to one algorithm). */
  alg: AccessTokenAlgorithm;
  /** PKCS#8 PEM or KeyObject. Needed only by the instance that issues tokens. */
  privateKey?: string | KeyObject;
  /** SPKI PEM or KeyObject. Derived from `privateKey` when omitted. */
  publicKey?: string | KeyObject;
  /** HS256 only: the shared secret, at least 32 bytes (RFC 7518 §3.2). */
  secret?: string | Buffer;
}

/** A key parsed once at boot: no PEM parsing ever happens on the request path. */
export interface ResolvedKey {
  readonly kid: string;
  readonly alg: AccessTokenAlgorithm;
  readonly verifyKey: KeyObject;
  readonly signKey?: KeyObject;
}

const MIN_HMAC_SECRET_BYTES = 32;
const KID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;

const ASYMMETRIC_KEY_CHECK: Record<Exclude<AccessTokenAlgorithm, 'HS256'>, (key: KeyObject) => boolean> = {
  ES256: (key) => key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1',
  RS256: (key) => key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048,
  EdDSA: (key) => key.asymmetricKeyType === 'ed25519',
};

const EXPECTED_KEY: Record<Exclude<AccessTokenAlgorithm, 'HS256'>, string> = {
  ES256: 'an EC P-256 key',
  RS256: 'an RSA key of at least 2048 bits',
  EdDSA: 'an Ed25519 key',
};

function toPrivateKey(value: string | KeyObject, where: string): KeyObject {
  if (value instanceof KeyObject) {
    if (value.type !== 'private') throw new ZeroTrustConfigurationError(`${where}.privateKey is a ${value.type} key, not a private key.`);
    return value;
  }
  try {
    return createPrivateKey(value);
  } catch (error) {
    throw new ZeroTrustConfigurationError(
      `${where}.privateKey is not a PEM private key (${(error as Error).message}). Generate one with: ` +
        `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`,
    );
  }
}

function toPublicKey(value: string | KeyObject, where: string): KeyObject {
  if (value instanceof KeyObject) {
    return value.type === 'private' ? createPublicKey(value) : value;
  }
  try {
    return createPublicKey(value);
  } catch (error) {
    throw new ZeroTrustConfigurationError(`${where}.publicKey is not a PEM public key (${(error as Error).message}).`);
  }
}

const KEY_FIELDS = ['kid', 'alg', 'privateKey', 'publicKey', 'secret'];

/** Parses and checks one configured key. Every mistake is reported at boot, naming the key. */
export function resolveKey(options: SigningKeyOptions, where: string): ResolvedKey {
  if (!isPlainObject(options)) throw new ZeroTrustConfigurationError(`${where} must be an object with kid, alg and a key (got ${describe(options)}).`);
  for (const key of Object.keys(options)) {
    if (!KEY_FIELDS.includes(key)) throw new ZeroTrustConfigurationError(`unknown option "${where}.${key}".${didYouMean(key, KEY_FIELDS)}`);
  }
  if (typeof options.kid !== 'string' || !KID_PATTERN.test(options.kid)) {
    throw new ZeroTrustConfigurationError(`${where}.kid must be 1-128 characters of A-Z a-z 0-9 . _ - (got ${JSON.stringify(options.kid)}).`);
  }
  if (!ACCESS_TOKEN_ALGORITHMS.includes(options.alg)) {
    throw new ZeroTrustConfigurationError(
      `${where}.alg must be one of ${ACCESS_TOKEN_ALGORITHMS.join(', ')} (got ${JSON.stringify(options.alg)}).`,
    );
  }
  if (options.alg === 'HS256') {
    if (options.privateKey || options.publicKey) {
      throw new ZeroTrustConfigurationError(`${where} is an HS256 key: give it a \`secret\`, not a private or public key.`);
    }
    const secret = typeof options.secret === 'string' ? Buffer.from(options.secret, 'utf8') : options.secret;
    if (!secret || secret.length < MIN_HMAC_SECRET_BYTES) {
      throw new ZeroTrustConfigurationError(
        `${where}.secret must be at least ${MIN_HMAC_SECRET_BYTES} bytes for HS256 (got ${secret?.length ?? 0}). ` +
          `Generate one with: openssl rand -base64 48`,
      );
    }
    const key = createSecretKey(secret);
    return { kid: options.kid, alg: 'HS256', verifyKey: key, signKey: key };
  }
  if (options.secret) {
    throw new ZeroTrustConfigurationError(`${where} is an ${options.alg} key: \`secret\` is for HS256 only.`);
  }
  const signKey = options.privateKey ? toPrivateKey(options.privateKey, where) : undefined;
  const verifyKey = options.publicKey
    ? toPublicKey(options.publicKey, where)
    : signKey
      ? createPublicKey(signKey)
      : undefined;
  if (!verifyKey) {
    throw new ZeroTrustConfigurationError(`${where} needs a privateKey (to issue tokens) or a publicKey (to verify them).`);
  }
  if (!ASYMMETRIC_KEY_CHECK[options.alg](verifyKey)) {
    throw new ZeroTrustConfigurationError(
      `${where} is used with ${options.alg}, which needs ${EXPECTED_KEY[options.alg]} (got ${verifyKey.asymmetricKeyType}).`,
    );
  }
  if (signKey && !createPublicKey(signKey).equals(verifyKey)) {
    throw new ZeroTrustConfigurationError(`${where}.publicKey does not belong to ${where}.privateKey.`);
  }
  return { kid: options.kid, alg: options.alg, verifyKey, signKey };
}

/**
 * A fresh ES256 key that lives as long as the process. For development only: tokens stop working
 * at every restart, and several instances would not accept each other's tokens.
 */
export function generateEphemeralSigningKey(): SigningKeyOptions {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { kid: `ephemeral-${randomBytes(6).toString('base64url')}`, alg: 'ES256', privateKey };
}

/** The configured keys, indexed for the two questions the request path asks. */
export class KeyRing {
  private readonly byKid = new Map<string, ResolvedKey>();

  constructor(
    readonly keys: readonly ResolvedKey[],
    readonly signingKey: ResolvedKey | undefined,
  ) {
    for (const key of keys) this.byKid.set(key.kid, key);
  }

  /**
   * The key for a token header. `kid` is compared exactly with configured ids, never resolved as a
   * path, URL or database lookup; a token without `kid` is accepted only when one key could have
   * signed it, so it cannot pick among keys.
   */
  find(kid: unknown, alg: string): ResolvedKey | undefined {
    if (kid !== undefined) {
      const key = typeof kid === 'string' ? this.byKid.get(kid) : undefined;
      return key && key.alg === alg ? key : undefined;
    }
    const candidates = this.keys.filter((key) => key.alg === alg);
    return candidates.length === 1 ? candidates[0] : undefined;
  }

  /** Public keys as a JWK Set (RFC 7517). Shared secrets are never published. */
  publicJwks(): { keys: JsonWebKey[] } {
    return {
      keys: this.keys
        .filter((key) => key.alg !== 'HS256')
        .map((key) => ({ ...key.verifyKey.export({ format: 'jwk' }), kid: key.kid, alg: key.alg, use: 'sig' })),
    };
  }
}

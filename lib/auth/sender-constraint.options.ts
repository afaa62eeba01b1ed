import { randomBytes } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import { array, boolean, disableable, object, oneOf, optional, seconds, section, string } from '../core/option-schema.js';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';

/** DPoP proof algorithms this module verifies (RFC 9449 §4.2 `alg`: asymmetric only, never `none` or a MAC). */
export const DPOP_ALGORITHMS = ['ES256', 'EdDSA', 'Ed25519', 'RS256'] as const;
export type DpopAlgorithm = (typeof DPOP_ALGORITHMS)[number];

export interface DpopOptions {
  /** Proof algorithms accepted and advertised in the `algs` of the challenge. Default `['ES256', 'EdDSA', 'Ed25519']`. */
  algorithms?: DpopAlgorithm[];
  /**
   * How far a proof's `iat` may be from now, in seconds, either way (RFC 9449 §11.1: a short window
   * limits pre-computed proofs). Its `jti` is remembered this long plus `clockTolerance`. Default 60, at most 300.
   */
  proofWindow?: number;
  /**
   * The origins clients reach this API at (`https://api.example.com`), compared with the proof's `htu`.
   * Behind a TLS-terminating proxy the request itself does not say, so set this in production. Default:
   * the request's scheme (from the socket) and Host header.
   */
  origins?: string[];
  /**
   * RFC 9449 §8 server nonces: every proof must carry a `nonce` this app issued (in `DPoP-Nonce`), which
   * bounds pre-computed proofs to `lifetime` seconds. `secret` (32+ characters) must be the same on every
   * instance; left out, each process draws its own. Default: off.
   */
  nonce?: boolean | { secret?: string; lifetime?: number };
}

export interface SenderConstraintOptions {
  /**
   * Sender-constrained tokens (RFC 9449 DPoP). A token carrying `cnf.jkt` is always accepted only with a
   * valid proof, whatever this says; `require: true` also refuses bearer tokens on every authenticated
   * route (per route: `@RequireSenderConstraint()`). `false` turns DPoP off: a `cnf`-bound token is then refused.
   */
  senderConstraint?:
    | boolean
    | {
        /** Every authenticated route needs a sender-constrained token. Default false. */
        require?: boolean;
        dpop?: DpopOptions;
        /** Certificate-bound tokens (RFC 8705 §3, `cnf.x5t#S256`). */
        mtls?: {
          /**
           * A header in which a TLS-terminating proxy forwards the client certificate (URL-encoded PEM,
           * as nginx's `$ssl_client_escaped_cert`, or base64 DER). Read only from a peer listed in the
           * `trustProxy` addresses (a list, not a hop count); from any other peer the request is refused.
           * Default: none, the certificate comes from the TLS socket only.
           */
          certificateHeader?: string;
        };
      };
}

const ORIGIN = /^https?:\/\/[^/?#\s]+$/i;

const SECTION = object({
  require: boolean({ default: false }),
  dpop: section({
    algorithms: array<DpopAlgorithm>(oneOf(DPOP_ALGORITHMS), { minItems: 1, default: ['ES256', 'EdDSA', 'Ed25519'] }),
    proofWindow: seconds({ min: 1, max: 300, default: 60 }),
    origins: array(string({ pattern: ORIGIN, expected: 'an origin such as "https://api.example.com" (no path)' }), { default: [] }),
    nonce: disableable(
      object({
        secret: optional(string({ pattern: /^.{32,}$/s, expected: 'a secret of at least 32 characters' })),
        lifetime: seconds({ min: 5, max: 3600, default: 300 }),
      }),
      { default: 'off' },
    ),
  }),
  mtls: section({
    certificateHeader: optional(string({ pattern: /^[a-z0-9-]+$/, expected: 'a lowercase header name such as "x-client-cert"' })),
  }),
});

export const senderConstraintOptionsSchema = object({ senderConstraint: disableable(SECTION, { default: 'on' }) });

export interface DpopConfig {
  readonly algorithms: readonly DpopAlgorithm[];
  readonly proofWindow: number;
  /** Normalised origins (`new URL(o).origin`); empty: taken from each request. */
  readonly origins: readonly string[];
  readonly nonce: false | { readonly secret: Buffer; readonly lifetime: number };
}

export interface MtlsConfig {
  readonly certificateHeader?: string;
  /** The `trustProxy` addresses: the only peers whose certificate header is read. */
  readonly trustedProxies?: BlockList;
}

export interface SenderConstraintConfig {
  /** False when `senderConstraint: false`: bound tokens are then refused, never accepted as bearer ones. */
  readonly enabled: boolean;
  readonly require: boolean;
  readonly dpop: DpopConfig;
  readonly mtls: MtlsConfig;
}

export function resolveSenderConstraintOptions(raw: Record<string, unknown>): SenderConstraintConfig {
  const { senderConstraint } = senderConstraintOptionsSchema.pick(raw);
  // Off still resolves the defaults: the verifier then refuses every bound token instead of reading undefined.
  const given = senderConstraint === false ? SECTION.parse({}, 'senderConstraint') : senderConstraint;
  const { dpop } = given;
  const origins = dpop.origins.map((origin, i) => {
    const url = new URL(origin);
    if (url.protocol === 'http:' && !LOOPBACK.has(url.hostname)) {
      throw new ZeroTrustConfigurationError(
        `senderConstraint.dpop.origins[${i}]: "${origin}" is plain http. DPoP binds tokens, it does not protect the channel: use https (plain http is accepted for loopback only).`,
      );
    }
    return url.origin;
  });
  const certificateHeader = given.mtls.certificateHeader;
  return {
    mtls: certificateHeader ? { certificateHeader, trustedProxies: trustedProxies(raw.trustProxy) } : {},
    enabled: senderConstraint !== false,
    require: senderConstraint !== false && given.require,
    dpop: {
      algorithms: dpop.algorithms,
      proofWindow: dpop.proofWindow,
      origins,
      nonce: dpop.nonce === false ? false : { secret: dpop.nonce.secret ? Buffer.from(dpop.nonce.secret, 'utf8') : randomBytes(32), lifetime: dpop.nonce.lifetime },
    },
  };
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** The peers allowed to speak for the client's certificate: the `trustProxy` list, read as the http slice reads it. */
function trustedProxies(trustProxy: unknown): BlockList {
  if (!Array.isArray(trustProxy) || trustProxy.length === 0) {
    throw new ZeroTrustConfigurationError(
      'senderConstraint.mtls.certificateHeader needs `trustProxy` as a list of the proxy addresses (e.g. ["10.0.0.5"]): a hop count cannot tell the proxy from a client that sends the header itself.',
    );
  }
  const list = new BlockList();
  for (const entry of trustProxy) {
    const [address, prefix] = String(entry).split('/');
    const family = isIP(address);
    // The http slice refuses a bad entry at boot with its own message; here it is only skipped.
    if (!family) continue;
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(prefix), type);
  }
  return list;
}

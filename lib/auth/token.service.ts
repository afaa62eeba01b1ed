import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Clock } from '../core/clock.js';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';
import { AUTH_CONFIG } from './auth.internal-constants.js';
import type { AuthConfig } from './auth.options.js';
import { signJws } from './jws.js';

export interface AccessTokenRequest {
  subject: string;
  scopes?: readonly string[];
  /** Roles, written to the `roles` claim. */
  roles?: readonly string[];
  sessionId?: string;
  /** RFC 8176 authentication methods, e.g. `['pwd']`. */
  authMethods?: readonly string[];
  /** Extra application claims. Registered and profile claims cannot be set this way. */
  claims?: Record<string, unknown>;
  /**
   * Binds the token to a DPoP key (RFC 9449 §6.1, `cnf.jkt`): pass the `VerifiedDpopProof` that
   * `DpopProofVerifier.verify()` returned for the request, or its `jkt`. The token is then accepted only
   * with the `DPoP` scheme and a proof signed by that key; its `tokenType` is `DPoP`.
   */
  dpop?: { readonly jkt: string };
  /**
   * Binds the token to the client's TLS certificate (RFC 8705 §3.1, `cnf.x5t#S256`): the base64url
   * SHA-256 of its DER. The token is then accepted only over a connection presenting that certificate.
   */
  certificateThumbprint?: string;
  /**
   * The OAuth client the token is issued to (RFC 9068 §2.2 `client_id`), for machine clients.
   */
  clientId?: string;
  /** Seconds the token lives, when shorter than `accessTokenTtl` (never longer). */
  lifetime?: number;
}

/** Claims the service owns: letting a caller set them would let it forge issuer, lifetime or identity. */
const RESERVED_CLAIMS = new Set(['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti', 'scope', 'scp', 'sid', 'amr', 'client_id', 'cnf']);

const JKT = /^[A-Za-z0-9_-]{43}$/;

export interface IssuedAccessToken {
  accessToken: string;
  /** `DPoP` for a token bound to a DPoP key (RFC 9449 §5), else `Bearer`. */
  tokenType: 'Bearer' | 'DPoP';
  /** Seconds until the token expires. */
  expiresIn: number;
}

/** Issues access tokens (RFC 9068 profile) with the configured signing key. */
@Injectable()
export class TokenService {
  constructor(
    @Inject(AUTH_CONFIG) private readonly config: AuthConfig,
    private readonly clock: Clock,
  ) {}

  issueAccessToken(request: AccessTokenRequest): IssuedAccessToken {
    const key = this.config.keyRing.signingKey;
    if (!key?.signKey) {
      throw new ZeroTrustConfigurationError('this app has no signing key (only public keys are configured), so it cannot issue tokens.');
    }
    if (typeof request.subject !== 'string' || request.subject === '') throw new TypeError('subject must be a non-empty string');
    // `<external issuer>#<sub>` is how external principals own records (ZeroTrustPrincipal.ownerId): a
    // local subject of that form would own a provider user's records.
    const external = this.config.externalIssuers.find((issuer) => request.subject.startsWith(`${issuer.issuer}#`));
    if (external) throw new TypeError(`subject "${request.subject}" has the form of a principal of the external issuer "${external.issuer}"`);
    for (const name of Object.keys(request.claims ?? {})) {
      if (RESERVED_CLAIMS.has(name)) throw new TypeError(`claim "${name}" is set by TokenService and cannot be passed in claims`);
    }
    const jkt = request.dpop?.jkt;
    if (jkt !== undefined && !JKT.test(jkt)) throw new TypeError('dpop.jkt must be an RFC 7638 SHA-256 thumbprint (43 base64url characters)');
    const x5t = request.certificateThumbprint;
    if (x5t !== undefined && !JKT.test(x5t)) throw new TypeError('certificateThumbprint must be a base64url SHA-256 (43 characters)');
    const cnf = { ...(jkt ? { jkt } : {}), ...(x5t ? { 'x5t#S256': x5t } : {}) };
    const iat = Math.floor(this.clock.now() / 1000);
    if (request.lifetime !== undefined && !(Number.isFinite(request.lifetime) && request.lifetime >= 1)) throw new TypeError('lifetime must be at least 1 second');
    const expiresIn = Math.floor(Math.min(this.config.accessTokenTtl, request.lifetime ?? Number.POSITIVE_INFINITY));
    const claims: Record<string, unknown> = {
      ...request.claims,
      iss: this.config.issuer,
      sub: request.subject,
      aud: this.config.audiences[0],
      iat,
      exp: iat + expiresIn,
      jti: randomUUID(),
      ...(request.scopes?.length ? { scope: request.scopes.join(' ') } : {}),
      ...(request.roles?.length ? { roles: [...request.roles] } : {}),
      ...(request.sessionId ? { sid: request.sessionId } : {}),
      ...(request.authMethods?.length ? { amr: [...request.authMethods] } : {}),
      ...(request.clientId ? { client_id: request.clientId } : {}),
      ...(jkt || x5t ? { cnf } : {}),
    };
    const accessToken = signJws({ typ: 'at+jwt', kid: key.kid }, claims, key.alg, key.signKey);
    return { accessToken, tokenType: jkt ? 'DPoP' : 'Bearer', expiresIn };
  }

  /** The public verification keys as a JWK Set, for a `/.well-known/jwks.json` route. */
  publicJwks() {
    return this.config.keyRing.publicJwks();
  }
}

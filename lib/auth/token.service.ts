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
}

/** Claims the service owns: letting a caller set them would let it forge issuer, lifetime or identity. */
const RESERVED_CLAIMS = new Set(['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti', 'scope', 'scp', 'sid', 'amr', 'client_id', 'cnf']);

export interface IssuedAccessToken {
  accessToken: string;
  tokenType: 'Bearer';
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
    const iat = Math.floor(this.clock.now() / 1000);
    const expiresIn = Math.floor(this.config.accessTokenTtl);
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
    };
    const accessToken = signJws({ typ: 'at+jwt', kid: key.kid }, claims, key.alg, key.signKey);
    return { accessToken, tokenType: 'Bearer', expiresIn };
  }

  /** The public verification keys as a JWK Set, for a `/.well-known/jwks.json` route. */
  publicJwks() {
    return this.config.keyRing.publicJwks();
  }
}

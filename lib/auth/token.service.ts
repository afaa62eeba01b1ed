import { Inject, Injectable } from '@nestjs/common';
import jwt from 'jsonwebtoken';
import { randomUUID } from 'node:crypto';
import { ZERO_TRUST_CONFIG } from '../zero-trust.internal-constants.js';
import type { ResolvedZeroTrustConfig } from '../zero-trust.options.js';
import { ZeroTrustConfigurationError } from '../zero-trust-configuration.error.js';

export interface AccessTokenRequest {
  subject: string;
  scopes?: readonly string[];
  sessionId?: string;
  /** RFC 8176 authentication methods, e.g. `['pwd']`. */
  authMethods?: readonly string[];
  /** Extra application claims (e.g. `roles`). Registered and profile claims cannot be set this way. */
  claims?: Record<string, unknown>;
}

/** Claims the service owns: letting a caller set them would let it forge issuer, lifetime or identity. */
const RESERVED_CLAIMS = new Set(['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti', 'scope', 'scp', 'sid', 'amr', 'client_id']);

export interface IssuedAccessToken {
  accessToken: string;
  tokenType: 'Bearer';
  /** Seconds until the token expires. */
  expiresIn: number;
}

/** Issues access tokens (RFC 9068 profile) with the configured signing key. */
@Injectable()
export class TokenService {
  constructor(@Inject(ZERO_TRUST_CONFIG) private readonly config: ResolvedZeroTrustConfig) {}

  issueAccessToken(request: AccessTokenRequest): IssuedAccessToken {
    const key = this.config.keyRing.signingKey;
    if (!key?.signKey) {
      throw new ZeroTrustConfigurationError('this app has no signing key (only public keys are configured), so it cannot issue tokens.');
    }
    if (typeof request.subject !== 'string' || request.subject === '') throw new TypeError('subject must be a non-empty string');
    for (const name of Object.keys(request.claims ?? {})) {
      if (RESERVED_CLAIMS.has(name)) throw new TypeError(`claim "${name}" is set by TokenService and cannot be passed in claims`);
    }
    const claims: Record<string, unknown> = {
      ...request.claims,
      sub: request.subject,
      ...(request.scopes?.length ? { scope: request.scopes.join(' ') } : {}),
      ...(request.sessionId ? { sid: request.sessionId } : {}),
      ...(request.authMethods?.length ? { amr: [...request.authMethods] } : {}),
    };
    const accessToken = jwt.sign(claims, key.signKey, {
      algorithm: key.alg,
      keyid: key.kid,
      header: { alg: key.alg, typ: 'at+jwt' },
      expiresIn: this.config.accessTokenTtl,
      issuer: this.config.issuer,
      audience: this.config.audiences[0],
      jwtid: randomUUID(),
    });
    return { accessToken, tokenType: 'Bearer', expiresIn: this.config.accessTokenTtl };
  }

  /** The public verification keys as a JWK Set, for a `/.well-known/jwks.json` route. */
  publicJwks() {
    return this.config.keyRing.publicJwks();
  }
}

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
}

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
    const claims: Record<string, unknown> = {
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

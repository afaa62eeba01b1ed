import type { INestApplicationContext } from '@nestjs/common';
import { TokenService } from '../auth/token.service.js';
import { CORE_CONFIG } from '../core/core.internal-constants.js';
import type { CoreConfig } from '../core/core.options.js';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';
import { SessionService } from '../sessions/session.service.js';

export interface TestTokenClaims {
  subject: string;
  scopes?: readonly string[];
  roles?: readonly string[];
  /** RFC 8176 methods, e.g. `['pwd', 'otp', 'mfa']` for a route with `@RequireMfa()`. Default `['pwd']`. */
  authMethods?: readonly string[];
}

/**
 * An access token for the app's own e2e tests, signed with the app's configured keys: what a real
 * login would hand out, so the tests go through every check a client's request does. With sessions
 * on, it belongs to a real session (revocation works on it as on any other). Refused when the app
 * runs in production (`environment`/`NODE_ENV`), so it can never become a way around login.
 *
 * ```ts
 * const token = await mintTestToken(app, { subject: user.id, scopes: ['notes:read'] });
 * await request(app.getHttpServer()).get('/notes').set('Authorization', `Bearer ${token}`).expect(200);
 * ```
 */
export async function mintTestToken(app: INestApplicationContext, claims: TestTokenClaims): Promise<string> {
  const core = app.get<CoreConfig>(CORE_CONFIG, { strict: false });
  if (core.production) {
    throw new ZeroTrustConfigurationError('mintTestToken() is for tests: it is refused when the app runs in production.');
  }
  const authMethods = claims.authMethods ?? ['pwd'];
  const sessions = app.get(SessionService, { strict: false });
  if (sessions.enabled) {
    const tokens = await sessions.create(claims.subject, { scopes: claims.scopes, authMethods });
    return tokens.accessToken;
  }
  return app.get(TokenService, { strict: false }).issueAccessToken({ subject: claims.subject, scopes: claims.scopes, roles: claims.roles, authMethods })
    .accessToken;
}

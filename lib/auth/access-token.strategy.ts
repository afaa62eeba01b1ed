import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import passport from 'passport';
import type { ZeroTrustPrincipal } from '../core/principal.interface.js';
import { AccessTokenRejection } from './access-token-rejection.js';
import { AccessTokenVerifier } from './access-token.verifier.js';
import { bearerToken } from './bearer-token.js';

type Verify = (request: unknown, token: string, done: (error: unknown, user?: unknown) => void) => void;

/**
 * A passport strategy for bearer access tokens. passport-jwt cannot be used: its verifier
 * (jsonwebtoken) reports failures only as message strings, overwrites `issuer`/`audience`/`algorithms`
 * passed in its `jsonWebTokenOptions` with undefined, and has no EdDSA. Rejections leave here as
 * `fail(AccessTokenRejection)`, typed, for the guard to audit.
 */
class BearerAccessTokenStrategy extends passport.Strategy {
  constructor(private readonly verify: Verify) {
    super();
  }

  override authenticate(request: object): void {
    const credentials = bearerToken(request);
    if (credentials.refused) {
      // RFC 6750 §3.1: no bearer credentials at all (or another scheme) is "missing", not "invalid".
      this.fail(new AccessTokenRejection(credentials.refused, credentials.refused === 'malformed' ? 'the Authorization header is not one bearer token' : 'no bearer token'), 401);
      return;
    }
    this.verify(request, credentials.token, (error, user) => {
      if (error instanceof AccessTokenRejection) this.fail(error, 401);
      else if (error) this.error(error as Error);
      else if (!user) this.fail(new AccessTokenRejection('invalid_token', 'no principal'), 401);
      else this.success(user);
    });
  }
}

let instances = 0;

/** Access-token authentication through @nestjs/passport, verified by `AccessTokenVerifier`. */
@Injectable()
export class AccessTokenStrategy extends PassportStrategy(BearerAccessTokenStrategy, 'zero-trust-jwt') implements OnModuleDestroy {
  /**
   * Passport keeps strategies in one process-wide registry: each module instance registers under its
   * own name so two apps in one process (tests, multi-tenant hosts) never verify with each other's keys.
   */
  readonly passportName = `zero-trust-jwt#${++instances}`;

  constructor(readonly verifier: AccessTokenVerifier) {
    super();
    passport.unuse('zero-trust-jwt');
    passport.use(this.passportName, this as unknown as passport.Strategy);
  }

  onModuleDestroy(): void {
    passport.unuse(this.passportName);
  }

  /**
   * The principal at once when nothing had to be waited for (the guard's cold path, issue 16), else a
   * promise of it; a refusal may be thrown (passport's callback and the guard both catch it).
   */
  validate(_request: unknown, token: string): ZeroTrustPrincipal | Promise<ZeroTrustPrincipal> {
    return this.verifier.verifyNow(token);
  }
}

import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { KeyObject } from 'node:crypto';
import passport from 'passport';
import { ExtractJwt, Strategy as JwtStrategy, type StrategyOptionsWithRequest } from 'passport-jwt';
import { ZERO_TRUST_CONFIG } from '../zero-trust.internal-constants.js';
import type { ResolvedZeroTrustConfig } from '../zero-trust.options.js';
import { AccessTokenRejection } from './access-token-rejection.js';
import type { ZeroTrustPrincipal } from './principal.interface.js';

/** RFC 9068 §2.1: access tokens are typed, so an ID token or any other JWT is never taken for one. */
const ACCESS_TOKEN_TYPES = new Set(['at+jwt', 'application/at+jwt']);
/**
 * Headers that tell a verifier where to find a key (RFC 8725 §3.10 / CVE-2018-0114): the key must
 * come from our configuration only, so a token carrying any of them is refused outright.
 */
const KEY_LOCATING_HEADERS = ['jku', 'jwk', 'x5u', 'x5c'] as const;

let instances = 0;

/**
 * Access-token verification through passport-jwt. jsonwebtoken checks the signature, `exp`, `nbf`,
 * `iss` and `aud`; this class adds what it does not: header policy before any key is chosen, the
 * key bound to its algorithm, required claims and a maximum lifetime.
 */
@Injectable()
export class AccessTokenStrategy extends PassportStrategy(JwtStrategy, 'zero-trust-jwt') implements OnModuleDestroy {
  /**
   * Passport keeps strategies in one process-wide registry: each module instance registers under its
   * own name so two apps in one process (tests, multi-tenant hosts) never verify with each other's keys.
   */
  readonly passportName = `zero-trust-jwt#${++instances}`;

  constructor(@Inject(ZERO_TRUST_CONFIG) private readonly config: ResolvedZeroTrustConfig) {
    const options: StrategyOptionsWithRequest = {
      // Bearer header only (RFC 6750 §2.1): tokens in query strings end up in logs and Referer headers.
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      secretOrKeyProvider: (_request, rawJwt, done) => {
        try {
          // jsonwebtoken 9 takes a KeyObject (parsed once at boot); @types/passport-jwt predates that.
          done(null, AccessTokenStrategy.keyFor(config, rawJwt) as unknown as Buffer);
        } catch (error) {
          done(error as Error);
        }
      },
      // passport-jwt 4.0.1 overwrites these three inside `jsonWebTokenOptions` with its own top-level
      // options (undefined when unset), silently disabling the checks: they must be set here.
      algorithms: [...config.algorithms],
      issuer: config.issuer,
      audience: config.audiences.length === 1 ? config.audiences[0] : [...config.audiences],
      ignoreExpiration: false,
      jsonWebTokenOptions: { clockTolerance: config.clockTolerance },
      passReqToCallback: true,
    };
    super(options);
    passport.unuse('zero-trust-jwt');
    passport.use(this.passportName, this);
  }

  onModuleDestroy(): void {
    passport.unuse(this.passportName);
  }

  /** Chooses the verification key from the header, after refusing every header we do not trust. */
  private static keyFor(config: ResolvedZeroTrustConfig, rawJwt: string): KeyObject {
    const header = decodeHeader(rawJwt);
    if (typeof header.alg !== 'string' || !config.algorithms.includes(header.alg as never)) {
      throw new AccessTokenRejection('algorithm_not_allowed', `alg ${JSON.stringify(header.alg)} is not allowed`);
    }
    if (typeof header.typ !== 'string' || !ACCESS_TOKEN_TYPES.has(header.typ.toLowerCase())) {
      throw new AccessTokenRejection('wrong_type', `typ ${JSON.stringify(header.typ)} is not at+jwt`);
    }
    for (const name of KEY_LOCATING_HEADERS) {
      if (name in header) throw new AccessTokenRejection('forbidden_header', `header "${name}" is not accepted`);
    }
    // RFC 7515 §4.1.11: a recipient must reject a token whose `crit` names an extension it does not
    // implement. We implement none.
    if ('crit' in header) throw new AccessTokenRejection('unsupported_crit', 'critical header extensions are not supported');
    const key = config.keyRing.find(header.kid, header.alg);
    if (!key) throw new AccessTokenRejection('unknown_key', 'no configured key matches kid and alg');
    return key.verifyKey;
  }

  /** Runs after the signature, `exp`, `nbf`, `iss` and `aud` checks passed. */
  validate(_request: unknown, claims: Record<string, unknown>): ZeroTrustPrincipal {
    const { exp, iat, sub, iss } = claims;
    if (typeof exp !== 'number') throw new AccessTokenRejection('missing_claim', 'exp is required');
    if (typeof iat !== 'number') throw new AccessTokenRejection('missing_claim', 'iat is required');
    if (typeof sub !== 'string' || sub === '') throw new AccessTokenRejection('missing_claim', 'sub is required');
    if (typeof iss !== 'string') throw new AccessTokenRejection('missing_claim', 'iss is required');
    if (claims.aud === undefined) throw new AccessTokenRejection('missing_claim', 'aud is required');
    const now = Math.floor(Date.now() / 1000);
    if (iat > now + this.config.clockTolerance) throw new AccessTokenRejection('issued_in_future', 'iat is in the future');
    // A stolen signing key or a misconfigured issuer could mint long-lived tokens; cap what we accept.
    if (exp - iat > this.config.maxTokenLifetime) {
      throw new AccessTokenRejection('lifetime_exceeded', `exp - iat exceeds ${this.config.maxTokenLifetime}s`);
    }
    return {
      subject: sub,
      scopes: parseScopes(claims),
      sessionId: typeof claims.sid === 'string' ? claims.sid : undefined,
      tokenId: typeof claims.jti === 'string' ? claims.jti : undefined,
      issuer: iss,
      authMethods: Array.isArray(claims.amr) ? claims.amr.filter((m): m is string => typeof m === 'string') : [],
      expiresAt: exp,
      claims: Object.freeze({ ...claims }),
    };
  }
}

function decodeHeader(rawJwt: string): Record<string, unknown> {
  const dot = rawJwt.indexOf('.');
  if (dot <= 0) throw new AccessTokenRejection('malformed', 'not a JWS compact serialization');
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(rawJwt.slice(0, dot), 'base64url').toString('utf8'));
  } catch {
    throw new AccessTokenRejection('malformed', 'header is not base64url JSON');
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    throw new AccessTokenRejection('malformed', 'header is not a JSON object');
  }
  return header as Record<string, unknown>;
}

function parseScopes(claims: Record<string, unknown>): string[] {
  if (typeof claims.scope === 'string') return claims.scope.split(' ').filter(Boolean);
  if (Array.isArray(claims.scp)) return claims.scp.filter((s): s is string => typeof s === 'string');
  return [];
}

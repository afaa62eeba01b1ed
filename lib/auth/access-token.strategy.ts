import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { KeyObject } from 'node:crypto';
import passport from 'passport';
import { ExtractJwt, Strategy as JwtStrategy, type StrategyOptionsWithRequest } from 'passport-jwt';
import { SessionService } from '../sessions/session.service.js';
import { ZERO_TRUST_CONFIG } from '../zero-trust.internal-constants.js';
import type { ResolvedZeroTrustConfig } from '../zero-trust.options.js';
import { AccessTokenRejection } from './access-token-rejection.js';
import { JwksKeySource } from './external-issuer.js';
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
 * key bound to its issuer and algorithm, required claims, a maximum lifetime, and the session check.
 */
@Injectable()
export class AccessTokenStrategy extends PassportStrategy(JwtStrategy, 'zero-trust-jwt') implements OnModuleDestroy {
  /**
   * Passport keeps strategies in one process-wide registry: each module instance registers under its
   * own name so two apps in one process (tests, multi-tenant hosts) never verify with each other's keys.
   */
  readonly passportName = `zero-trust-jwt#${++instances}`;
  private readonly external: ReadonlyMap<string, JwksKeySource>;

  constructor(
    @Inject(ZERO_TRUST_CONFIG) private readonly config: ResolvedZeroTrustConfig,
    private readonly sessions: SessionService,
  ) {
    const external = new Map(config.externalIssuers.map((issuer) => [issuer.issuer, new JwksKeySource(issuer)]));
    const algorithms = [...new Set([...config.algorithms, ...config.externalIssuers.flatMap((e) => e.algorithms)])];
    const audiences = [...new Set([...config.audiences, ...config.externalIssuers.flatMap((e) => e.audiences)])];
    const options: StrategyOptionsWithRequest = {
      // Bearer header only (RFC 6750 §2.1): tokens in query strings end up in logs and Referer headers.
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      secretOrKeyProvider: (_request, rawJwt, done) => {
        // jsonwebtoken 9 takes a KeyObject (parsed once at boot); @types/passport-jwt predates that.
        AccessTokenStrategy.keyFor(config, external, rawJwt).then(
          (key) => done(null, key as unknown as Buffer),
          (error: Error) => done(error),
        );
      },
      // passport-jwt 4.0.1 overwrites these three inside `jsonWebTokenOptions` with its own top-level
      // options (undefined when unset), silently disabling the checks: they must be set here.
      // validate() then checks each issuer against its own audiences.
      algorithms,
      issuer: [config.issuer, ...external.keys()],
      audience: audiences.length === 1 ? audiences[0] : audiences,
      ignoreExpiration: false,
      jsonWebTokenOptions: { clockTolerance: config.clockTolerance },
      passReqToCallback: true,
    };
    super(options);
    this.external = external;
    passport.unuse('zero-trust-jwt');
    passport.use(this.passportName, this);
  }

  onModuleDestroy(): void {
    passport.unuse(this.passportName);
  }

  /** Chooses the verification key from the token, after refusing every header we do not trust. */
  private static async keyFor(config: ResolvedZeroTrustConfig, external: ReadonlyMap<string, JwksKeySource>, rawJwt: string): Promise<KeyObject> {
    const [header, claims] = decodeUnverified(rawJwt);
    for (const name of KEY_LOCATING_HEADERS) {
      if (name in header) throw new AccessTokenRejection('forbidden_header', `header "${name}" is not accepted`);
    }
    // RFC 7515 §4.1.11: a recipient must reject a token whose `crit` names an extension it does not
    // implement. We implement none.
    if ('crit' in header) throw new AccessTokenRejection('unsupported_crit', 'critical header extensions are not supported');
    // The unverified `iss` only picks whose keys to try; the signature and validate() then hold it to that issuer.
    const source = claims.iss === config.issuer ? undefined : external.get(claims.iss as string);
    if (claims.iss !== config.issuer && !source) throw new AccessTokenRejection('wrong_issuer', 'unknown issuer');
    const allowed: readonly string[] = source ? source.issuer.algorithms : config.algorithms;
    if (typeof header.alg !== 'string' || !allowed.includes(header.alg)) {
      throw new AccessTokenRejection('algorithm_not_allowed', `alg ${JSON.stringify(header.alg)} is not allowed`);
    }
    const typeRequired = source ? source.issuer.requireAccessTokenType : true;
    if (typeRequired && (typeof header.typ !== 'string' || !ACCESS_TOKEN_TYPES.has(header.typ.toLowerCase()))) {
      throw new AccessTokenRejection('wrong_type', `typ ${JSON.stringify(header.typ)} is not at+jwt`);
    }
    if (source) return (await source.find(header.kid, header.alg)).verifyKey;
    const key = config.keyRing.find(header.kid, header.alg);
    if (!key) throw new AccessTokenRejection('unknown_key', 'no configured key matches kid and alg');
    return key.verifyKey;
  }

  /** Runs after the signature, `exp`, `nbf`, `iss` and `aud` checks passed. */
  async validate(_request: unknown, claims: Record<string, unknown>): Promise<ZeroTrustPrincipal> {
    const { exp, iat, sub, iss } = claims;
    if (typeof exp !== 'number') throw new AccessTokenRejection('missing_claim', 'exp is required');
    if (typeof iat !== 'number') throw new AccessTokenRejection('missing_claim', 'iat is required');
    if (typeof sub !== 'string' || sub === '') throw new AccessTokenRejection('missing_claim', 'sub is required');
    if (typeof iss !== 'string') throw new AccessTokenRejection('missing_claim', 'iss is required');
    if (claims.aud === undefined) throw new AccessTokenRejection('missing_claim', 'aud is required');
    const own = iss === this.config.issuer;
    const external = own ? undefined : this.external.get(iss);
    if (!own && !external) throw new AccessTokenRejection('wrong_issuer', 'unknown issuer');
    const audiences = external ? external.issuer.audiences : this.config.audiences;
    const tokenAudiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!tokenAudiences.some((aud) => audiences.includes(aud as string))) {
      throw new AccessTokenRejection('wrong_audience', 'audience not accepted for this issuer');
    }
    const now = Math.floor(Date.now() / 1000);
    if (iat > now + this.config.clockTolerance) throw new AccessTokenRejection('issued_in_future', 'iat is in the future');
    // A stolen signing key or a misconfigured issuer could mint long-lived tokens; cap what we accept.
    const maxLifetime = external ? external.issuer.maxTokenLifetime : this.config.maxTokenLifetime;
    if (exp - iat > maxLifetime) throw new AccessTokenRejection('lifetime_exceeded', `exp - iat exceeds ${maxLifetime}s`);
    const sessionId = typeof claims.sid === 'string' ? claims.sid : undefined;
    const principal: ZeroTrustPrincipal = {
      subject: sub,
      scopes: parseScopes(claims),
      sessionId,
      tokenId: typeof claims.jti === 'string' ? claims.jti : undefined,
      issuer: iss,
      authMethods: Array.isArray(claims.amr) ? claims.amr.filter((m): m is string => typeof m === 'string') : [],
      expiresAt: exp,
      claims: Object.freeze({ ...claims }),
    };
    await this.assertStillValid(principal);
    return principal;
  }

  /**
   * What must be asked again on every request, even for a token whose signature was verified before:
   * has it expired, and (for our own tokens, with sessions on) is its session still live? Revocation
   * must hold before expiry.
   */
  async assertStillValid(principal: ZeroTrustPrincipal): Promise<void> {
    if (principal.expiresAt + this.config.clockTolerance <= Math.floor(Date.now() / 1000)) {
      throw new AccessTokenRejection('expired', 'the token has expired');
    }
    if (principal.issuer === this.config.issuer && this.sessions.enabled) {
      if (!principal.sessionId) throw new AccessTokenRejection('missing_session', 'sessions are enabled and the token has no sid');
      if (!(await this.sessions.isActive(principal.sessionId))) throw new AccessTokenRejection('session_revoked', 'the session was revoked or expired');
    }
  }
}

function decodeUnverified(rawJwt: string): [Record<string, unknown>, Record<string, unknown>] {
  const parts = rawJwt.split('.');
  if (parts.length !== 3) throw new AccessTokenRejection('malformed', 'not a JWS compact serialization');
  const decode = (part: string, what: string): Record<string, unknown> => {
    let value: unknown;
    try {
      value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    } catch {
      throw new AccessTokenRejection('malformed', `${what} is not base64url JSON`);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new AccessTokenRejection('malformed', `${what} is not a JSON object`);
    return value as Record<string, unknown>;
  };
  return [decode(parts[0], 'header'), decode(parts[1], 'payload')];
}

function parseScopes(claims: Record<string, unknown>): string[] {
  if (typeof claims.scope === 'string') return claims.scope.split(' ').filter(Boolean);
  if (Array.isArray(claims.scp)) return claims.scp.filter((s): s is string => typeof s === 'string');
  return [];
}

import { Inject, Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../core/clock.js';
import type { ZeroTrustPrincipal } from '../core/principal.interface.js';
import { StoreFailurePolicy } from '../store/store-failure.policy.js';
import { ZERO_TRUST_STORE } from '../store/store.internal-constants.js';
import type { ZeroTrustStore } from '../store/zero-trust-store.js';
import { AccessTokenRejection } from './access-token-rejection.js';
import { AccessTokenVerifier } from './access-token.verifier.js';
import { AUTH_CONFIG } from './auth.internal-constants.js';
import type { AuthConfig } from './auth.options.js';
import type { ClaimsMapper } from './principal-claims.js';
import { type MessageClient, type MessageRecordFactory, ServiceClient, type ServiceTokenRequest } from './service-client.js';

export type { ServiceTokenRequest };
import { SessionCheck } from './session-check.port.js';
import { TokenService } from './token.service.js';

/** Longest life of a service token this app issues, in seconds: one message's journey, not a session. */
const MAX_SERVICE_TOKEN_TTL = 300;
const DEFAULT_SERVICE_TOKEN_TTL = 60;
/**
 * A service principal's subject is `service:<name>`: never a user's subject, so a service owns none of a
 * user's records (an external one's owner id is `<issuer>#service:<sub>`, never a user's `<issuer>#<sub>`).
 */
const SERVICE_SUBJECT_PREFIX = 'service:';

/**
 * The audience a service token for `audience` carries. Never one of the audiences user tokens are issued
 * for, so a service token is refused by every HTTP route (wrong audience) and a user's token by every
 * message handler: the two kinds of identity cannot stand in for each other.
 */
export function serviceAudience(audience: string): string {
  return `${audience}#service`;
}

/** A service token is a message's credential, not a login: no session is asked for it. */
class NoSessions extends SessionCheck {
  readonly enabled = false;
  isActive(): Promise<boolean> {
    return Promise.resolve(false);
  }
}

/**
 * A sender-constrained token (`cnf`, RFC 9449 / RFC 8705) on a message: no proof of possession travels
 * with it, so accepting it would turn a bound token into a bearer one (RFC 9449 §7.2 forbids the downgrade).
 */
export class ServiceTokenBound extends AccessTokenRejection {
  constructor() {
    super('invalid_token', 'a sender-constrained token cannot be proven on a message');
  }
}

/** A service token presented a second time (a captured message replayed). */
export class ServiceTokenReplayed extends AccessTokenRejection {
  constructor() {
    super('invalid_token', 'the service token was already used (jti seen)');
  }
}

/**
 * Service identity for microservice messages. `issue()` signs a short-lived access token for a service
 * principal with this app's key (through `TokenService`, with the receiver's service audience); a new
 * one for every message, since `verify()` accepts each `jti` once. `verify()` applies the same rules as
 * for a user's token (issuer, key, algorithm, `typ: at+jwt`, audience, `exp`/`nbf`/`iat`, the lifetime
 * cap), requires a `jti`, and remembers it in the store until the token expires: a captured message
 * replayed, to this instance or another sharing the store, is refused.
 *
 * An external issuer's token is a service identity only where that issuer opts in (`serviceAudiences`,
 * e.g. a machine client's client-credentials token): its keys (JWKS), `typ` and lifetime rules, one of
 * those audiences and never one of its user audiences, a `jti` counted once, its scope allow-list; the
 * principal is `service:<sub>`, owner id `<issuer>#service:<sub>`.
 */
@Injectable()
export class ServiceTokens {
  private readonly verifier: AccessTokenVerifier;
  private readonly issuers = new Map<string, TokenService>();
  /** Per issuer, the audiences of its user tokens: a token naming one is never a service identity. */
  private readonly userAudiences: ReadonlyMap<string, readonly string[]>;

  constructor(
    @Inject(AUTH_CONFIG) private readonly config: AuthConfig,
    private readonly clock: Clock,
    @Inject(ZERO_TRUST_STORE) private readonly store: ZeroTrustStore,
    private readonly storeFailures: StoreFailurePolicy,
    audit: AuditService,
  ) {
    // The same verifier, limited to service audiences, asking no session: this app's own keys with
    // `<aud>#service`, and each external issuer that opted in with its own keys and rules but only its
    // `serviceAudiences`. An issuer that did not opt in is unknown here (`wrong_issuer`).
    const audiences = config.audiences.map(serviceAudience);
    const externalIssuers = config.externalIssuers
      .filter((external) => external.serviceAudiences.length > 0)
      .map((external) => ({ ...external, audiences: external.serviceAudiences, claims: asService(external.claims) }));
    this.userAudiences = new Map([[config.issuer, config.audiences], ...config.externalIssuers.map((external) => [external.issuer, external.audiences] as const)]);
    this.verifier = new AccessTokenVerifier({ ...config, audiences, externalIssuers }, new NoSessions(), clock, store, storeFailures, audit);
  }

  /** A fresh service token (a new `jti`) for one message. */
  issue(request: ServiceTokenRequest): string {
    if (typeof request.service !== 'string' || !/^[\w.-]{1,64}$/.test(request.service)) throw new TypeError('service must be 1-64 letters, digits, ".", "-" or "_"');
    if (!Array.isArray(request.scopes) || request.scopes.length === 0) throw new TypeError('a service token needs at least one scope: name what the receiver may be asked');
    const ttl = Math.min(request.ttl ?? DEFAULT_SERVICE_TOKEN_TTL, MAX_SERVICE_TOKEN_TTL, this.config.maxTokenLifetime);
    if (!Number.isFinite(ttl) || ttl < 1) throw new TypeError('ttl must be at least 1 second');
    const key = `${request.audience}\n${ttl}`;
    let issuer = this.issuers.get(key);
    if (!issuer) {
      issuer = new TokenService({ ...this.config, audiences: [serviceAudience(request.audience)], accessTokenTtl: ttl }, this.clock);
      this.issuers.set(key, issuer);
    }
    return issuer.issueAccessToken({ subject: SERVICE_SUBJECT_PREFIX + request.service, scopes: request.scopes }).accessToken;
  }

  /** A message client whose every message carries a fresh service token for `identity` (see `ServiceClient`). */
  client(proxy: MessageClient, identity: ServiceTokenRequest, record?: MessageRecordFactory): ServiceClient {
    this.issue(identity); // Refuses a bad identity now, not at the first message.
    return new ServiceClient(proxy, this, identity, record);
  }

  /** The verified service principal of a message's token; throws `AccessTokenRejection` otherwise. */
  async verify(token: string): Promise<ZeroTrustPrincipal> {
    const principal = await this.verifier.verify(token);
    // A token that also names a user audience of its issuer was minted for users' routes too (a provider
    // may list several audiences): it is a user's token, never a service identity.
    const userAudiences = this.userAudiences.get(principal.issuer) ?? [];
    const tokenAudiences: unknown[] = Array.isArray(principal.claims.aud) ? principal.claims.aud : [principal.claims.aud];
    if (tokenAudiences.some((aud) => typeof aud === 'string' && userAudiences.includes(aud))) {
      throw new AccessTokenRejection('wrong_audience', 'the token names a user audience: it is not a service token');
    }
    if (principal.claims.cnf !== undefined) throw new ServiceTokenBound();
    if (!principal.tokenId) throw new AccessTokenRejection('missing_claim', 'a service token needs a jti');
    // Seen for as long as the token could still be accepted (its expiry plus the clock tolerance).
    const liveFor = Math.max(1000, (principal.expiresAt + this.config.clockTolerance) * 1000 - this.clock.now() + 1000);
    let first: boolean;
    try {
      // One atomic step: of two deliveries racing with one token, exactly one claims it.
      first = await this.store.claim(`service-jti:${principal.issuer}#${principal.tokenId}`, liveFor);
    } catch (error) {
      // A replay cache that cannot be read cannot be enforced: `onStoreFailure.auth` decides (closed: 503).
      this.storeFailures.handle(error, 'auth');
      return principal;
    }
    if (!first) throw new ServiceTokenReplayed();
    return principal;
  }
}

/**
 * An external issuer's mapping, with the subject marked as a service's. No subject gives `''`, not
 * `undefined`, so the verifier refuses the token instead of falling back to an unmarked `sub`.
 */
function asService(mapper: ClaimsMapper): ClaimsMapper {
  return (claims) => {
    const mapped = mapper(claims);
    const subject = mapped.subject ?? claims.sub;
    return { ...mapped, subject: typeof subject === 'string' && subject !== '' ? SERVICE_SUBJECT_PREFIX + subject : '' };
  };
}

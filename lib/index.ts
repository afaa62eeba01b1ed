// The whole public API of nestjs-zero-trust. Anything not exported here is internal.
export { ZeroTrustModule } from './zero-trust.module.js';
export { ZERO_TRUST_MODULE_OPTIONS } from './zero-trust.module-definition.js';
export { ZERO_TRUST_DEFAULTS, resolveZeroTrustOptions } from './zero-trust.options.js';
export type {
  ZeroTrustModuleOptions,
  ResolvedZeroTrustConfig,
  SessionOptions,
  ResolvedSessionOptions,
  ThrottleOptions,
  RateLimit,
  LockoutOptions,
  RedisClientLike,
} from './zero-trust.options.js';
export { ZERO_TRUST_CONFIG } from './zero-trust.internal-constants.js';
export { ZeroTrustConfigurationError } from './zero-trust-configuration.error.js';
export {
  AUTHENTICATED_KEY,
  IS_PUBLIC_KEY,
  AUTH_THROTTLE_KEY,
  OWNS_RESOURCE_KEY,
  REQUEST_ID_HEADER,
  REQUIRE_MFA_KEY,
  ROW_LEVEL_SECURITY_KEY,
  ROLES_KEY,
  SCOPES_KEY,
  SECURITY_HEADERS_KEY,
  SENSITIVE_FIELDS_KEY,
} from './zero-trust.constants.js';

export { Public } from './auth/public.decorator.js';
export { CurrentUser } from './auth/current-user.decorator.js';
export type { ZeroTrustPrincipal } from './auth/principal.interface.js';
export { JwtAuthGuard } from './auth/jwt-auth.guard.js';
export { AccessTokenStrategy } from './auth/access-token.strategy.js';
export { TokenService } from './auth/token.service.js';
export type { AccessTokenRequest, IssuedAccessToken } from './auth/token.service.js';
export { ACCESS_TOKEN_ALGORITHMS, generateEphemeralSigningKey, KeyRing } from './auth/key-ring.js';
export type { AccessTokenAlgorithm, SigningKeyOptions, ResolvedKey } from './auth/key-ring.js';
export { AccessTokenRejection } from './auth/access-token-rejection.js';
export { JwksKeySource } from './auth/external-issuer.js';
export type { ExternalIssuerOptions, ExternalIssuerAlgorithm } from './auth/external-issuer.js';

export { SessionService } from './sessions/session.service.js';
export type { NewSession, SessionTokens } from './sessions/session.service.js';
export { ZeroTrustSessions1732000100000 } from './sessions/zero-trust-sessions.migration.js';
export { RefreshTokenRejection } from './sessions/refresh-token-rejection.js';
export type { RefreshFailureReason } from './sessions/refresh-token-rejection.js';
export { REFRESH_COOKIE_NAME, clearedRefreshCookie, readRefreshToken, refreshCookie } from './sessions/refresh-cookie.js';

export { RequireMfa, MFA_METHODS } from './mfa/require-mfa.decorator.js';
export {
  base32Decode,
  base32Encode,
  generateRecoveryCodes,
  generateTotpSecret,
  hashRecoveryCode,
  totpCode,
  totpStep,
  totpUri,
  verifyTotp,
} from './mfa/totp.js';
export type { AuthFailureReason } from './auth/access-token-rejection.js';

export { Authenticated } from './authz/authenticated.decorator.js';
export { Scopes } from './authz/scopes.decorator.js';
export { Roles } from './authz/roles.decorator.js';
export { OwnsResource } from './authz/owns-resource.decorator.js';
export type { EntityClass, OwnershipRule, OwnsResourceOptions, ParentResourceOptions } from './authz/owns-resource.decorator.js';
export { OwnedResource } from './authz/owned-resource.decorator.js';
export { Owned, OwnedRepositoryPipe } from './authz/owned.decorator.js';
export { OwnedRepository } from './authz/owned.repository.js';
export type { OwnedFindOptions } from './authz/owned.repository.js';
export { AuthorizationGuard } from './authz/authorization.guard.js';
export { RoutePolicies } from './authz/route-policy.js';
export type { RoutePolicy } from './authz/route-policy.js';
export { EntityAccess } from './authz/entity-access.js';
export { Sensitive } from './authz/sensitive.decorator.js';

export { AuthThrottle } from './throttle/auth-throttle.decorator.js';
export { AccountLockoutService } from './throttle/account-lockout.service.js';
export { ZeroTrustThrottlerGuard } from './throttle/zero-trust-throttler.guard.js';
export { MemoryStore } from './throttle/zero-trust-store.js';
export type { ZeroTrustStore, ThrottleResult } from './throttle/zero-trust-store.js';
export { RedisStore } from './throttle/redis.store.js';
export { ClientIpResolver } from './http/client-ip.js';

export { LeastPrivilegeRoleMigration, ZERO_TRUST_TABLES, RLS_USER_SETTING, RLS_SCOPES_SETTING } from './database/least-privilege-role.migration.js';
export type { LeastPrivilegeOptions, RowLevelSecurityTable } from './database/least-privilege-role.migration.js';
export { scramSha256Verifier } from './database/scram-verifier.js';
export { exclusivePGliteDriver } from './database/exclusive-pglite.driver.js';
export type { PGliteLike, PGliteDriver } from './database/exclusive-pglite.driver.js';
export { RlsContext } from './database/rls-context.js';
export { RowLevelSecurity } from './database/row-level-security.decorator.js';
export { DatabasePrivilegeCheck } from './database/database-privilege.check.js';
export { renderRoleMigration } from './database/role-migration.writer.js';
export type { RoleMigrationSpec } from './database/role-migration.writer.js';

export { SecurityHeaders } from './http/security-headers.decorator.js';
export { DEFAULT_SECURITY_HEADERS } from './http/security-headers.js';
export type { SecurityHeaderOverrides } from './http/security-headers.js';
export { ZeroTrustExceptionFilter } from './http/zero-trust-exception.filter.js';
export type { ErrorBody } from './http/zero-trust-exception.filter.js';
export { requestIdOf } from './http/request-context.js';

export { ZeroTrustValidationPipe, ZERO_TRUST_VALIDATION_OPTIONS } from './validation/zero-trust-validation.pipe.js';

export { AuditService } from './audit/audit.service.js';
export type { AuditEventInput } from './audit/audit.service.js';
export type { AuditEvent, AuditEventType, AuditOutcome } from './audit/audit-event.interface.js';
export type { AuditSink } from './audit/audit-sink.interface.js';
export { LoggerAuditSink } from './audit/logger-audit.sink.js';
export { MemoryAuditSink } from './audit/memory-audit.sink.js';
export { BufferedAuditSink } from './audit/buffered-audit.sink.js';
export type { BatchAuditSink, BufferedAuditSinkOptions, AuditSinkStats } from './audit/buffered-audit.sink.js';
export { TypeOrmAuditWriter, typeOrmAuditSink } from './audit/typeorm-audit.sink.js';
export { ZeroTrustAuditLog1732000200000 } from './audit/zero-trust-audit-log.migration.js';
export { sanitizeAuditValue } from './audit/audit-event.sanitizer.js';
export { MetricsService } from './monitoring/metrics.service.js';
export { AnomalyDetector } from './monitoring/anomaly-detector.js';
export { bolaProbeRule, distributedLoginFailureRule } from './monitoring/anomaly-rules.js';
export type { AnomalyAction, AnomalyFinding, AnomalyRule } from './monitoring/anomaly-rules.js';
export type { AuditQuery } from './audit/memory-audit.sink.js';

// The whole public API of nestjs-zero-trust, exported by name; anything not here is internal.
// Each name is documented in the README's "API" section.

// Module and options
export { ZeroTrustModule } from './zero-trust.module.js';
export type { ZeroTrustModuleOptions } from './zero-trust.options.js';
export type { ZeroTrustEnhancers } from './zero-trust.module-definition.js';
export { ZeroTrustConfigurationError } from './core/zero-trust-configuration.error.js';
export { Clock, ManualClock } from './core/clock.js';
export type { ZeroTrustPrincipal } from './core/principal.interface.js';
export { RequestContexts } from './core/request-context.js';

// Authentication
export { Public } from './auth/public.decorator.js';
export { CurrentUser } from './auth/current-user.decorator.js';
export { JwtAuthGuard } from './auth/jwt-auth.guard.js';
export { TokenService } from './auth/token.service.js';
export { PrincipalBlocklist } from './auth/principal-blocklist.js';
export type { SigningKeyOptions, AccessTokenAlgorithm } from './auth/key-ring.js';
export type { ExternalIssuerOptions } from './auth/external-issuer.js';
export { PrincipalClaims } from './auth/principal-claims.js';
export type { ClaimsMapper } from './auth/principal-claims.js';

// Sessions
export { SessionService } from './sessions/session.service.js';
export type { ReauthenticatedSession, SessionTokens } from './sessions/session.service.js';
export { ZeroTrustSessions1732000100000 } from './sessions/zero-trust-sessions.migration.js';
export { ZeroTrustSessionBinding1732000110000 } from './sessions/zero-trust-session-binding.migration.js';
export type { SessionGrants, SubjectGrants } from './sessions/session-grants.port.js';
export { clearedRefreshCookie, readRefreshToken, refreshCookie } from './sessions/refresh-cookie.js';

// Multi-factor authentication
export { RequireMfa } from './mfa/require-mfa.decorator.js';
export { generateRecoveryCodes, generateTotpSecret, hashRecoveryCode, totpUri, verifyTotp } from './mfa/totp.js';

// Accounts: sign-in steps, second factors, recent authentication
export { SignInService } from './accounts/sign-in.service.js';
export type { ReauthenticationProof } from './accounts/sign-in.service.js';
export { MfaService } from './accounts/mfa.service.js';
export type { SecondFactor } from './accounts/mfa.service.js';
export type { Account, AccountDirectory } from './accounts/account-directory.port.js';
export { MfaStore } from './accounts/mfa.store.js';
export type { MfaRecord } from './accounts/mfa.store.js';
export { TypeOrmMfaStore } from './accounts/typeorm-mfa.store.js';
export { ZeroTrustMfa1732000120000 } from './accounts/zero-trust-mfa.migration.js';
export { RequireRecentAuth } from './accounts/require-recent-auth.decorator.js';
export { RecentAuthenticationGuard } from './accounts/recent-authentication.guard.js';

// Authorization
export { Authenticated } from './authz/authenticated.decorator.js';
export { Scopes } from './authz/scopes.decorator.js';
export { Roles } from './authz/roles.decorator.js';
export { OwnsResource } from './authz/owns-resource.decorator.js';
export type { OwnsResourceOptions } from './authz/owns-resource.decorator.js';
export { OwnedResource } from './authz/owned-resource.decorator.js';
export { Owned } from './authz/owned.decorator.js';
export { OwnedRepository } from './authz/owned.repository.js';
export { AuthorizationGuard } from './authz/authorization.guard.js';
export { ResourceLoader } from './authz/resource-loader.port.js';
export { TypeOrmResourceLoader } from './authz/typeorm-resource.loader.js';
export { Sensitive } from './authz/sensitive.decorator.js';

// Throttling, lockout and the store port
export { AuthThrottle } from './throttle/auth-throttle.decorator.js';
export { AccountLockoutService } from './throttle/account-lockout.service.js';
export { ZeroTrustThrottlerGuard } from './throttle/zero-trust-throttler.guard.js';
export { MemoryStore } from './store/zero-trust-store.js';
export type { ZeroTrustStore, ThrottleResult, AttemptKeys, AttemptPolicy, AttemptFailure } from './store/zero-trust-store.js';
export { MemoryStoreFullError } from './store/memory-store-full.error.js';
export type { LoginAttempt } from './throttle/login-attempt.interface.js';

// Database: least privilege and row-level security
export { LeastPrivilegeRoleMigration } from './database/least-privilege-role.migration.js';
export { scramSha256Verifier } from './database/scram-verifier.js';
export { exclusivePGliteDriver } from './database/exclusive-pglite.driver.js';
export { DataDirectoryLock } from './database/data-directory.lock.js';
export { RlsContext } from './database/rls-context.js';
export { RowLevelSecurity } from './database/row-level-security.decorator.js';
export { renderRoleMigration } from './database/role-migration.writer.js';

// HTTP
export { SecurityHeaders } from './http/security-headers.decorator.js';
export type { SecurityHeadersOptions } from './http/security-headers.js';
export { ZeroTrustExceptionFilter } from './http/zero-trust-exception.filter.js';
export { ZeroTrustValidationPipe } from './validation/zero-trust-validation.pipe.js';

// Testing
export { mintTestToken } from './testing/mint-test-token.js';
export type { TestTokenClaims } from './testing/mint-test-token.js';

// Audit and monitoring
export { AuditService } from './audit/audit.service.js';
export type { AuditEvent } from './audit/audit-event.interface.js';
export type { AuditSink } from './audit/audit-sink.interface.js';
export { LoggerAuditSink } from './audit/logger-audit.sink.js';
export { MemoryAuditSink } from './audit/memory-audit.sink.js';
export { BufferedAuditSink } from './audit/buffered-audit.sink.js';
export { typeOrmAuditSink } from './audit/typeorm-audit.sink.js';
export { ZeroTrustAuditLog1732000200000 } from './audit/zero-trust-audit-log.migration.js';
export { MetricsService } from './monitoring/metrics.service.js';
export { bolaProbeRule, distributedLoginFailureRule } from './monitoring/anomaly-rules.js';
export type { AnomalyRule } from './monitoring/anomaly-rules.js';

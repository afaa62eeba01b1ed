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
export { ServiceTokens, serviceAudience, type ServiceTokenRequest } from './auth/service-tokens.js';
export { ServiceClient, natsRecord, type MessageClient, type MessageRecordFactory } from './auth/service-client.js';
export { presentSocketToken } from './auth/bearer-token.js';
export { zeroTrustGraphql, maskGraphqlError, type ZeroTrustGraphqlOptions } from './graphql/zero-trust-graphql.js';
export { zeroTrustWebSocketAdapter, AUTHENTICATE_MESSAGE } from './websockets/zero-trust-websocket.adapter.js';
export { SocketGuardian, type ZeroTrustWebSocketOptions } from './websockets/socket-guardian.js';
export { zeroTrustGraphqlSubscriptions, type SubscriptionRequest } from './websockets/graphql-subscriptions.js';
export { zeroTrustMercuriusSubscriptions, type MercuriusServerRules } from './websockets/mercurius-subscriptions.js';
export { ownedEvents } from './graphql/owned-events.js';
export type { AccessTokenRequest, IssuedAccessToken } from './auth/token.service.js';
export { RequireSenderConstraint } from './auth/require-sender-constraint.decorator.js';
export { DpopProofVerifier, isVerifiedDpopProof } from './auth/dpop-proof.verifier.js';
export type { VerifiedDpopProof, DpopProofExpectations } from './auth/dpop-proof.verifier.js';
export { DpopRejection } from './auth/dpop-rejection.js';
export type { DpopFailureReason } from './auth/dpop-rejection.js';
export { jwkThumbprint } from './auth/jwk-thumbprint.js';
export type { SenderConstraintOptions, DpopOptions, DpopAlgorithm } from './auth/sender-constraint.options.js';
export { ApiKeyService, API_KEY_ISSUER } from './clients/api-key.service.js';
export type { NewApiKey, CreatedApiKey, ApiKeyRecord } from './clients/api-key.service.js';
export { ApiKeyGuard } from './clients/api-key.guard.js';
export { ApiKeyAuth } from './clients/api-key-auth.decorator.js';
export { MachineClientService, JWT_BEARER_ASSERTION, MACHINE_SUBJECT_PREFIX } from './clients/machine-client.service.js';
export type { NewMachineClient, RegisteredMachineClient, ClientCredentialsResponse } from './clients/machine-client.service.js';
export { OutboundHttpClient } from './integrations/outbound-http.client.js';
export type { OutboundRequest } from './integrations/outbound-http.client.js';
export { OutboundCallRefused } from './integrations/outbound-call-refused.error.js';
export type { IntegrationsOptions, IntegrationOptions, IntegrationCredentials, SecretSource } from './integrations/integrations.options.js';
export { ZeroTrustClients1732000180000 } from './clients/zero-trust-clients.migration.js';
export type { ClientsOptions, ApiKeyOptions, MachineClientOptions } from './clients/clients.options.js';
export { PrincipalBlocklist } from './auth/principal-blocklist.js';
export type { SigningKeyOptions, AccessTokenAlgorithm } from './auth/key-ring.js';
export type { ExternalIssuerOptions } from './auth/external-issuer.js';
export { PrincipalClaims } from './auth/principal-claims.js';
export type { ClaimsMapper } from './auth/principal-claims.js';

// Sessions
export { SessionService } from './sessions/session.service.js';
export type { ReauthenticatedSession, SessionTokens } from './sessions/session.service.js';
export type { NewSession, RotateOptions } from './sessions/session.service.js';
export { ZeroTrustSessionSenderKey1732000170000 } from './sessions/zero-trust-session-sender-key.migration.js';
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
export { UserCredentialsMigration } from './accounts/user-credentials.migration.js';
export type { UserCredentialsOptions } from './accounts/user-credentials.migration.js';
export { UserCredentials } from './accounts/user-credentials.js';
export { PasswordPepper, PEPPERED_HASH_PREFIX, PASSWORD_PEPPER_COMMAND } from './accounts/password-pepper.js';
export type { PepperedInput } from './accounts/password-pepper.js';
export { RequireRecentAuth } from './accounts/require-recent-auth.decorator.js';
export { RecentAuthenticationGuard } from './accounts/recent-authentication.guard.js';

// Account lifecycle: registration, verification, password reset, password policy, proof of work
export type { LifecycleOptions, PasskeyOptions, PasswordPolicyOptions, ProofOfWorkOptions } from './lifecycle/lifecycle.options.js';
export type { AccountRegistry, LifecycleAccount } from './lifecycle/account-registry.port.js';
export { Mailer } from './lifecycle/mailer.port.js';
export type { MailKind, MailMessage } from './lifecycle/mailer.port.js';
export { DevelopmentMailer } from './lifecycle/development.mailer.js';
export { SmtpMailer } from './lifecycle/smtp.mailer.js';
export type { SmtpMailerOptions } from './lifecycle/smtp.mailer.js';
export { PasswordPolicy, WeakPasswordException } from './lifecycle/password.policy.js';
export type { PasswordRejection } from './lifecycle/password.policy.js';
export { ProofOfWork } from './lifecycle/proof-of-work.decorator.js';
export { ProofOfWorkGuard, PROOF_OF_WORK_HEADER, PROOF_OF_WORK_FIELD } from './lifecycle/proof-of-work.guard.js';
export { ProofOfWorkService } from './lifecycle/proof-of-work.service.js';
export type { ProofOfWorkChallenge, ProofOfWorkFailure } from './lifecycle/proof-of-work.service.js';
export { RegistrationService, REGISTRATION_RECEIPT } from './lifecycle/registration.service.js';
export type { RegistrationReceipt } from './lifecycle/registration.service.js';
export { PasswordResetService, PASSWORD_RESET_RECEIPT } from './lifecycle/password-reset.service.js';
export { requireVerifiedAccounts } from './lifecycle/verified-accounts.directory.js';
export { PasskeyService } from './lifecycle/passkey.service.js';
export type { PasskeyCeremonyOptions, PasskeyResponseJSON } from './lifecycle/passkey.service.js';
export type { PasskeySummary } from './lifecycle/passkey.repository.js';
export { ZeroTrustLifecycle1732000130000 } from './lifecycle/zero-trust-lifecycle.migration.js';
export { LifecycleCredentialsMigration } from './lifecycle/lifecycle-credentials.migration.js';
export type { LifecycleCredentialsOptions } from './lifecycle/lifecycle-credentials.migration.js';

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
export { runMigrationsAsOwner, type RunMigrationsOptions } from './database/owner-migration.runner.js';
export { scramSha256Verifier } from './database/scram-verifier.js';
export { exclusivePGliteDriver, durablePGliteStartParams, type ExclusivePGliteDriverOptions } from './database/exclusive-pglite.driver.js';
export { DataDirectoryLock } from './database/data-directory.lock.js';
export { RlsContext } from './database/rls-context.js';
export { RowLevelSecurity } from './database/row-level-security.decorator.js';
export { renderRoleMigration } from './database/role-migration.writer.js';
export { isTransientDatabaseError, explainDatabaseError } from './database/transient-database-error.js';

// HTTP
export { SecurityHeaders } from './http/security-headers.decorator.js';
export type { SecurityHeadersOptions } from './http/security-headers.js';
export { ZeroTrustExceptionFilter } from './http/zero-trust-exception.filter.js';
export { ZeroTrustValidationPipe } from './validation/zero-trust-validation.pipe.js';

// Testing
export { mintTestToken } from './testing/mint-test-token.js';
export type { TestTokenClaims } from './testing/mint-test-token.js';

// Posture report (`npx nestjs-zero-trust doctor`)
export { PostureReport } from './doctor/posture.report.js';
export { postureGrade, renderPosture, type PostureArea, type PostureFinding, type PostureLevel } from './doctor/posture-finding.js';

// Audit and monitoring
export { AuditService } from './audit/audit.service.js';
export type { AuditEvent } from './audit/audit-event.interface.js';
export type { AuditSink } from './audit/audit-sink.interface.js';
export { LoggerAuditSink } from './audit/logger-audit.sink.js';
export { MemoryAuditSink } from './audit/memory-audit.sink.js';
export { BufferedAuditSink } from './audit/buffered-audit.sink.js';
export { typeOrmAuditSink } from './audit/typeorm-audit.sink.js';
export { ZeroTrustAuditLog1732000200000 } from './audit/zero-trust-audit-log.migration.js';
export { ZeroTrustAuditEventId1732000210000 } from './audit/zero-trust-audit-event-id.migration.js';
export type { AuditSinkStats, BatchAuditSink, BufferedAuditSinkOptions } from './audit/buffered-audit.sink.js';
export { MetricsService } from './monitoring/metrics.service.js';
export { bolaProbeRule, distributedLoginFailureRule } from './monitoring/anomaly-rules.js';
export type { AnomalyRule } from './monitoring/anomaly-rules.js';

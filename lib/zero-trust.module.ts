import { type MiddlewareConsumer, Module, type NestModule } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { ACCOUNTS_CONFIG } from './accounts/accounts.internal-constants.js';
import { resolveAccountsOptions } from './accounts/accounts.options.js';
import { MfaService } from './accounts/mfa.service.js';
import { SignInService } from './accounts/sign-in.service.js';
import { TypeOrmMfaStore } from './accounts/typeorm-mfa.store.js';
import { AccountTokenRepository } from './lifecycle/account-token.repository.js';
import { LifecyclePorts } from './lifecycle/lifecycle-ports.js';
import { LIFECYCLE_CONFIG } from './lifecycle/lifecycle.internal-constants.js';
import { resolveLifecycleOptions } from './lifecycle/lifecycle.options.js';
import { PasskeyRepository } from './lifecycle/passkey.repository.js';
import { PasskeyService } from './lifecycle/passkey.service.js';
import { PasswordPolicy } from './lifecycle/password.policy.js';
import { PasswordResetService } from './lifecycle/password-reset.service.js';
import { ProofOfWorkService } from './lifecycle/proof-of-work.service.js';
import { RegistrationService } from './lifecycle/registration.service.js';
import { AUDIT_CONFIG } from './audit/audit.internal-constants.js';
import { resolveAuditOptions } from './audit/audit.options.js';
import { AuditService } from './audit/audit.service.js';
import { AccessTokenStrategy } from './auth/access-token.strategy.js';
import { AccessTokenVerifier } from './auth/access-token.verifier.js';
import { AuthObserver } from './auth/auth-observer.port.js';
import { PrincipalBlocklist } from './auth/principal-blocklist.js';
import { AUTH_CONFIG } from './auth/auth.internal-constants.js';
import { resolveAuthOptions } from './auth/auth.options.js';
import { SessionCheck } from './auth/session-check.port.js';
import { TokenService } from './auth/token.service.js';
import { ServiceTokens } from './auth/service-tokens.js';
import { DpopProofVerifier } from './auth/dpop-proof.verifier.js';
import { SenderConstraintCheck } from './auth/sender-constraint.check.js';
import { SENDER_CONSTRAINT_CONFIG } from './auth/sender-constraint.internal-constants.js';
import { resolveSenderConstraintOptions } from './auth/sender-constraint.options.js';
import { ApiKeyGuard } from './clients/api-key.guard.js';
import { ApiKeyService } from './clients/api-key.service.js';
import { MachineClientService } from './clients/machine-client.service.js';
import { INTEGRATIONS_CONFIG } from './integrations/integrations.internal-constants.js';
import { resolveIntegrationsOptions } from './integrations/integrations.options.js';
import { OutboundHttpClient } from './integrations/outbound-http.client.js';
import { CLIENTS_CONFIG } from './clients/clients.internal-constants.js';
import { resolveClientsOptions } from './clients/clients.options.js';
import { AUTHZ_CONFIG } from './authz/authz.internal-constants.js';
import { resolveAuthzOptions } from './authz/authz.options.js';
import { EntityAccess } from './authz/entity-access.js';
import { OwnedRepositoryPipe } from './authz/owned.decorator.js';
import { RouteRulesCheck } from './authz/route-rules.check.js';
import { PostureReport } from './doctor/posture.report.js';
import { Clock } from './core/clock.js';
import { CORE_CONFIG, ZERO_TRUST_RAW_OPTIONS } from './core/core.internal-constants.js';
import { type CoreConfig, resolveCoreOptions } from './core/core.options.js';
import { RoutePlans } from './core/route-plan.js';
import { DataSourceRef } from './database/data-source.ref.js';
import { DatabasePrivilegeCheck } from './database/database-privilege.check.js';
import { DataStoreConnectionCheck } from './database/data-store-connection.check.js';
import { DATABASE_CONFIG } from './database/database.internal-constants.js';
import { resolveDatabaseOptions } from './database/database.options.js';
import { HTTP_CONFIG } from './http/http.internal-constants.js';
import { resolveHttpOptions } from './http/http.options.js';
import { RequestHardeningMiddleware } from './http/request-hardening.middleware.js';
import { GracefulShutdown } from './http/graceful-shutdown.js';
import { SHUTDOWN_CONFIG } from './http/shutdown.internal-constants.js';
import { resolveShutdownOptions, type ShutdownConfig } from './http/shutdown.options.js';
import { HttpAdapterHost } from '@nestjs/core';
import { AnomalyDetector } from './monitoring/anomaly-detector.js';
import { MetricsService } from './monitoring/metrics.service.js';
import { MONITORING_CONFIG } from './monitoring/monitoring.internal-constants.js';
import { resolveMonitoringOptions } from './monitoring/monitoring.options.js';
import { SessionService } from './sessions/session.service.js';
import { SESSIONS_CONFIG } from './sessions/sessions.internal-constants.js';
import { resolveSessionsOptions } from './sessions/sessions.options.js';
import { StoreFailurePolicy } from './store/store-failure.policy.js';
import { STORE_CONFIG, ZERO_TRUST_STORE } from './store/store.internal-constants.js';
import { createZeroTrustStore, ZeroTrustStoreLifecycle } from './store/store.lifecycle.js';
import { resolveStoreOptions } from './store/store.options.js';
import { AccountLockoutService } from './throttle/account-lockout.service.js';
import { THROTTLE_CONFIG } from './throttle/throttle.internal-constants.js';
import { resolveThrottleOptions } from './throttle/throttle.options.js';
import { VALIDATION_CONFIG } from './validation/validation.internal-constants.js';
import { resolveValidationOptions } from './validation/validation.options.js';
import { ZERO_TRUST_MODULE_OPTIONS, ZeroTrustConfigurableModule } from './zero-trust.module-definition.js';
import { checkZeroTrustOptions } from './zero-trust.options.js';

type Raw = Record<string, unknown>;

/** Each feature's resolved options under its own token, read from the raw options by the feature's own schema. */
const slices = [
  { provide: ZERO_TRUST_RAW_OPTIONS, useFactory: checkZeroTrustOptions, inject: [ZERO_TRUST_MODULE_OPTIONS] },
  { provide: CORE_CONFIG, useFactory: (raw: Raw) => resolveCoreOptions(raw), inject: [ZERO_TRUST_RAW_OPTIONS] },
  { provide: Clock, useFactory: (core: CoreConfig) => core.clock, inject: [CORE_CONFIG] },
  { provide: AUDIT_CONFIG, useFactory: (raw: Raw) => resolveAuditOptions(raw), inject: [ZERO_TRUST_RAW_OPTIONS] },
  { provide: HTTP_CONFIG, useFactory: (raw: Raw) => resolveHttpOptions(raw), inject: [ZERO_TRUST_RAW_OPTIONS] },
  { provide: SHUTDOWN_CONFIG, useFactory: (raw: Raw) => resolveShutdownOptions(raw), inject: [ZERO_TRUST_RAW_OPTIONS] },
  { provide: VALIDATION_CONFIG, useFactory: (raw: Raw) => resolveValidationOptions(raw), inject: [ZERO_TRUST_RAW_OPTIONS] },
  { provide: AUTH_CONFIG, useFactory: (raw: Raw, core: CoreConfig) => resolveAuthOptions(raw, core), inject: [ZERO_TRUST_RAW_OPTIONS, CORE_CONFIG] },
  { provide: SENDER_CONSTRAINT_CONFIG, useFactory: (raw: Raw) => resolveSenderConstraintOptions(raw), inject: [ZERO_TRUST_RAW_OPTIONS] },
  { provide: CLIENTS_CONFIG, useFactory: (raw: Raw) => resolveClientsOptions(raw), inject: [ZERO_TRUST_RAW_OPTIONS] },
  { provide: INTEGRATIONS_CONFIG, useFactory: (raw: Raw, core: CoreConfig) => resolveIntegrationsOptions(raw, core), inject: [ZERO_TRUST_RAW_OPTIONS, CORE_CONFIG] },
  { provide: SESSIONS_CONFIG, useFactory: (raw: Raw) => resolveSessionsOptions(raw), inject: [ZERO_TRUST_RAW_OPTIONS] },
  { provide: STORE_CONFIG, useFactory: (raw: Raw) => resolveStoreOptions(raw), inject: [ZERO_TRUST_RAW_OPTIONS] },
  { provide: THROTTLE_CONFIG, useFactory: (raw: Raw) => resolveThrottleOptions(raw), inject: [ZERO_TRUST_RAW_OPTIONS] },
  { provide: DATABASE_CONFIG, useFactory: (raw: Raw) => resolveDatabaseOptions(raw), inject: [ZERO_TRUST_RAW_OPTIONS] },
  { provide: AUTHZ_CONFIG, useFactory: (raw: Raw) => resolveAuthzOptions(raw), inject: [ZERO_TRUST_RAW_OPTIONS] },
  { provide: MONITORING_CONFIG, useFactory: (raw: Raw) => resolveMonitoringOptions(raw), inject: [ZERO_TRUST_RAW_OPTIONS] },
  { provide: ACCOUNTS_CONFIG, useFactory: (raw: Raw, core: CoreConfig) => resolveAccountsOptions(raw, core), inject: [ZERO_TRUST_RAW_OPTIONS, CORE_CONFIG] },
  { provide: LIFECYCLE_CONFIG, useFactory: (raw: Raw, core: CoreConfig) => resolveLifecycleOptions(raw, core), inject: [ZERO_TRUST_RAW_OPTIONS, CORE_CONFIG] },
];

const services = [
  RoutePlans,
  AuditService,
  MetricsService,
  { provide: AuthObserver, useExisting: MetricsService },
  AnomalyDetector,
  { provide: ZERO_TRUST_STORE, useFactory: createZeroTrustStore, inject: [STORE_CONFIG, Clock] },
  ZeroTrustStoreLifecycle,
  StoreFailurePolicy,
  AccessTokenVerifier,
  // The deny list of external principals is the verifier's (it asks on every request); provided by class for operators.
  { provide: PrincipalBlocklist, useFactory: (verifier: AccessTokenVerifier) => verifier.blocklist, inject: [AccessTokenVerifier] },
  AccessTokenStrategy,
  TokenService,
  ServiceTokens,
  DpopProofVerifier,
  SenderConstraintCheck,
  ApiKeyService,
  ApiKeyGuard,
  MachineClientService,
  OutboundHttpClient,
  DataSourceRef,
  SessionService,
  { provide: SessionCheck, useExisting: SessionService },
  AccountLockoutService,
  TypeOrmMfaStore,
  MfaService,
  SignInService,
  PasswordPolicy,
  ProofOfWorkService,
  AccountTokenRepository,
  LifecyclePorts,
  RegistrationService,
  PasswordResetService,
  PasskeyRepository,
  PasskeyService,
  EntityAccess,
  OwnedRepositoryPipe,
  RouteRulesCheck,
  DatabasePrivilegeCheck,
  PostureReport,
  DataStoreConnectionCheck,
  // Nest destroys the providers that depend on others first: depending on the strategy, the store and the
  // audit service puts the drain before any of them lets go (passport strategy, Redis, sinks).
  {
    provide: GracefulShutdown,
    useFactory: (host: HttpAdapterHost, config: ShutdownConfig) => new GracefulShutdown(host, config),
    inject: [HttpAdapterHost, SHUTDOWN_CONFIG, AccessTokenStrategy, ZERO_TRUST_STORE, AuditService, SessionService],
  },
];

const tokenOf = (provider: (typeof slices)[number] | (typeof services)[number]) => (typeof provider === 'function' ? provider : provider.provide);

/**
 * Importing this module makes the whole application deny-by-default: every route needs a valid
 * access token unless marked `@Public()`, every body is validated against a whitelist, every
 * response carries security headers, and every authentication outcome is audited. The global
 * enhancers and their order are in `zero-trust.module-definition.ts`.
 */
@Module({
  imports: [DiscoveryModule],
  providers: [...slices, ...services],
  exports: [...slices, ...services].map(tokenOf),
})
export class ZeroTrustModule extends ZeroTrustConfigurableModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(RequestHardeningMiddleware).forRoutes('*');
  }
}


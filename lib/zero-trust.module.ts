import { type MiddlewareConsumer, Module, type NestModule } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, APP_PIPE, DiscoveryModule, Reflector } from '@nestjs/core';
import { AuditService } from './audit/audit.service.js';
import { AccessTokenStrategy } from './auth/access-token.strategy.js';
import { JwtAuthGuard } from './auth/jwt-auth.guard.js';
import { TokenService } from './auth/token.service.js';
import { AuthorizationGuard } from './authz/authorization.guard.js';
import { EntityAccess } from './authz/entity-access.js';
import { OwnedRepositoryPipe } from './authz/owned.decorator.js';
import { RoutePolicies } from './authz/route-policy.js';
import { RouteRulesCheck } from './authz/route-rules.check.js';
import { SensitiveFieldsInterceptor } from './authz/sensitive-fields.interceptor.js';
import { DatabasePrivilegeCheck } from './database/database-privilege.check.js';
import { RowLevelSecurityInterceptor } from './database/row-level-security.interceptor.js';
import { AnomalyDetector } from './monitoring/anomaly-detector.js';
import { MetricsService } from './monitoring/metrics.service.js';
import { SessionService } from './sessions/session.service.js';
import { AccountLockoutService } from './throttle/account-lockout.service.js';
import { StoreFailurePolicy } from './throttle/store-failure.policy.js';
import { ZeroTrustThrottlerGuard, ZeroTrustThrottlerStorage, throttlerOptions } from './throttle/zero-trust-throttler.guard.js';
import { createZeroTrustStore, ZeroTrustStoreLifecycle } from './throttle/zero-trust-store.provider.js';
import type { ZeroTrustStore } from './throttle/zero-trust-store.js';
import { RequestHardeningMiddleware } from './http/request-hardening.middleware.js';
import { SecurityHeadersInterceptor } from './http/security-headers.interceptor.js';
import { ZeroTrustExceptionFilter } from './http/zero-trust-exception.filter.js';
import { ZeroTrustValidationPipe } from './validation/zero-trust-validation.pipe.js';
import { ZERO_TRUST_CONFIG, ZERO_TRUST_STORE } from './zero-trust.internal-constants.js';
import { ZERO_TRUST_MODULE_OPTIONS, ZeroTrustConfigurableModule } from './zero-trust.module-definition.js';
import { type ResolvedZeroTrustConfig, resolveZeroTrustOptions, type ZeroTrustModuleOptions } from './zero-trust.options.js';

/**
 * Importing this module makes the whole application deny-by-default: every route needs a valid
 * access token unless marked `@Public()`, every body is validated against a whitelist, every
 * response carries security headers, and every authentication outcome is audited.
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    {
      provide: ZERO_TRUST_CONFIG,
      useFactory: (options: ZeroTrustModuleOptions) => resolveZeroTrustOptions(options),
      inject: [ZERO_TRUST_MODULE_OPTIONS],
    },
    AuditService,
    MetricsService,
    AnomalyDetector,
    TokenService,
    SessionService,
    AccessTokenStrategy,
    {
      provide: APP_GUARD,
      useFactory: (reflector: Reflector, audit: AuditService, strategy: AccessTokenStrategy, metrics: MetricsService) =>
        new JwtAuthGuard(reflector, audit, strategy, metrics),
      inject: [Reflector, AuditService, AccessTokenStrategy, MetricsService],
    },
    { provide: ZERO_TRUST_STORE, useFactory: createZeroTrustStore, inject: [ZERO_TRUST_CONFIG] },
    ZeroTrustStoreLifecycle,
    StoreFailurePolicy,
    AccountLockoutService,
    // Global guards run in the order they are registered: authenticate, throttle (per verified
    // subject), then authorize (ownership checks hit the database only for callers within limits).
    {
      provide: APP_GUARD,
      useFactory: (config: ResolvedZeroTrustConfig, store: ZeroTrustStore, reflector: Reflector, audit: AuditService, failures: StoreFailurePolicy) =>
        new ZeroTrustThrottlerGuard(throttlerOptions(config, reflector), new ZeroTrustThrottlerStorage(store), reflector, audit, failures),
      inject: [ZERO_TRUST_CONFIG, ZERO_TRUST_STORE, Reflector, AuditService, StoreFailurePolicy],
    },
    { provide: APP_GUARD, useClass: AuthorizationGuard },
    RoutePolicies,
    EntityAccess,
    OwnedRepositoryPipe,
    RouteRulesCheck,
    DatabasePrivilegeCheck,
    { provide: APP_PIPE, useFactory: () => new ZeroTrustValidationPipe() },
    { provide: APP_FILTER, useClass: ZeroTrustExceptionFilter },
    { provide: APP_INTERCEPTOR, useClass: SecurityHeadersInterceptor },
    { provide: APP_INTERCEPTOR, useClass: SensitiveFieldsInterceptor },
    { provide: APP_INTERCEPTOR, useClass: RowLevelSecurityInterceptor },
  ],
  exports: [TokenService, SessionService, AccountLockoutService, AuditService, MetricsService, AnomalyDetector, EntityAccess, OwnedRepositoryPipe, ZERO_TRUST_CONFIG],
})
export class ZeroTrustModule extends ZeroTrustConfigurableModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(RequestHardeningMiddleware).forRoutes('*');
  }
}

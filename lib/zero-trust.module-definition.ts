import { ConfigurableModuleBuilder, type ExceptionFilter, Logger, type PipeTransform, type Provider, type Type } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, APP_PIPE } from '@nestjs/core';
import { JwtAuthGuard } from './auth/jwt-auth.guard.js';
import { AuthorizationGuard } from './authz/authorization.guard.js';
import { ResourceLoader } from './authz/resource-loader.port.js';
import { TypeOrmResourceLoader } from './authz/typeorm-resource.loader.js';
import { SensitiveFieldsInterceptor } from './authz/sensitive-fields.interceptor.js';
import { classOf, custom, isPlainObject, object, optional } from './core/option-schema.js';
import { RequestContextInterceptor } from './core/request-context.interceptor.js';
import { RowLevelSecurityInterceptor } from './database/row-level-security.interceptor.js';
import { SecurityHeadersInterceptor } from './http/security-headers.interceptor.js';
import { ZeroTrustExceptionFilter } from './http/zero-trust-exception.filter.js';
import { ZeroTrustThrottlerGuard } from './throttle/zero-trust-throttler.guard.js';
import { ZeroTrustValidationPipe } from './validation/zero-trust-validation.pipe.js';
import { ZeroTrustInterceptor } from './zero-trust.interceptor.js';
import type { ZeroTrustModuleOptions } from './zero-trust.options.js';

/**
 * The module's global enhancers, each replaceable by a subclass (registered under the base class, so
 * `@UseGuards(JwtAuthGuard)` gets the subclass too). The pipe and the filter can step aside (`false`)
 * for an app that registers its own; the boot log says so.
 */
export interface ZeroTrustEnhancers {
  authGuard?: Type<JwtAuthGuard>;
  throttlerGuard?: Type<ZeroTrustThrottlerGuard>;
  authorizationGuard?: Type<AuthorizationGuard>;
  validationPipe?: Type<PipeTransform> | false;
  exceptionFilter?: Type<ExceptionFilter> | false;
}

export interface ZeroTrustModuleExtras {
  /** Register the module globally. Default true: its guards, TokenService and AuditService serve the whole app. */
  isGlobal?: boolean;
  /** Replace or remove the module's enhancers. */
  enhancers?: ZeroTrustEnhancers;
  /** How `@OwnsResource` finds records: a class extending `ResourceLoader`. Default `TypeOrmResourceLoader`. */
  resourceLoader?: Type<ResourceLoader>;
}

const classOrFalse = (what: string) =>
  custom<Type<unknown> | false>(`false or a class (${what})`, (value) => (value === false || typeof value === 'function' ? (value as Type<unknown> | false) : undefined));

const enhancersSchema = object({
  authGuard: optional(classOf(JwtAuthGuard, 'the authentication guard')),
  throttlerGuard: optional(classOf(ZeroTrustThrottlerGuard, 'the rate-limit guard')),
  authorizationGuard: optional(classOf(AuthorizationGuard, 'the authorization guard')),
  validationPipe: optional(classOrFalse('a validation pipe')),
  exceptionFilter: optional(classOrFalse('an exception filter')),
});

/**
 * The order every request passes through, written once: authenticate, throttle (per verified
 * subject), authorize (ownership checks hit the database only for callers within limits); then the
 * request context, route headers, sensitive-field stripping and the row-level-security transaction
 * around the handler; the pipe inside them; the filter for every error.
 */
export function enhancerProviders(given: unknown = {}): Provider[] {
  if (!isPlainObject(given)) throw new TypeError('enhancers must be an object');
  const enhancers = enhancersSchema.parse(given, 'enhancers');
  const byClass = (base: Type<unknown>, replacement?: Type<unknown>): Provider => (replacement && replacement !== base ? { provide: base, useClass: replacement } : base);
  const providers: Provider[] = [
    byClass(JwtAuthGuard, enhancers.authGuard),
    byClass(ZeroTrustThrottlerGuard, enhancers.throttlerGuard),
    byClass(AuthorizationGuard, enhancers.authorizationGuard),
    { provide: APP_GUARD, useExisting: JwtAuthGuard },
    { provide: APP_GUARD, useExisting: ZeroTrustThrottlerGuard },
    { provide: APP_GUARD, useExisting: AuthorizationGuard },
    RequestContextInterceptor,
    SecurityHeadersInterceptor,
    SensitiveFieldsInterceptor,
    RowLevelSecurityInterceptor,
    // One global interceptor doing the four jobs in order (issue 16: Nest's machinery per global interceptor).
    ZeroTrustInterceptor,
    { provide: APP_INTERCEPTOR, useExisting: ZeroTrustInterceptor },
  ];
  const logger = new Logger('ZeroTrustModule');
  if (enhancers.validationPipe === false) {
    logger.log('enhancers.validationPipe is false: the app registers its own validation pipe (ZeroTrustValidationPipe is not global).');
  } else {
    providers.push(byClass(ZeroTrustValidationPipe, enhancers.validationPipe), { provide: APP_PIPE, useExisting: ZeroTrustValidationPipe });
  }
  if (enhancers.exceptionFilter === false) {
    logger.log('enhancers.exceptionFilter is false: the app registers its own exception filter (ZeroTrustExceptionFilter is not global).');
  } else {
    providers.push(byClass(ZeroTrustExceptionFilter, enhancers.exceptionFilter), { provide: APP_FILTER, useExisting: ZeroTrustExceptionFilter });
  }
  return providers;
}

export const {
  ConfigurableModuleClass: ZeroTrustConfigurableModule,
  MODULE_OPTIONS_TOKEN: ZERO_TRUST_MODULE_OPTIONS,
  OPTIONS_TYPE: ZERO_TRUST_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: ZERO_TRUST_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<ZeroTrustModuleOptions>({ moduleName: 'ZeroTrust' })
  .setClassMethodName('forRoot')
  .setExtras<ZeroTrustModuleExtras>({ isGlobal: true, enhancers: {}, resourceLoader: undefined }, (definition, extras) => {
    const loader = extras.resourceLoader === undefined ? TypeOrmResourceLoader : classOf(ResourceLoader, 'the resource loader').parse(extras.resourceLoader, 'resourceLoader');
    const enhancers: Provider[] = [...enhancerProviders(extras.enhancers), { provide: ResourceLoader, useClass: loader }];
    // Exported by class so `@UseGuards(JwtAuthGuard)` and friends resolve in any module of the app.
    const tokens = enhancers.flatMap((provider) =>
      typeof provider === 'function' ? [provider] : typeof (provider as { provide: unknown }).provide === 'function' ? [(provider as { provide: Type<unknown> }).provide] : [],
    );
    return {
      ...definition,
      global: extras.isGlobal,
      providers: [...(definition.providers ?? []), ...enhancers],
      exports: [...(definition.exports ?? []), ...tokens],
    };
  })
  .build();

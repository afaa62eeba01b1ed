import type { AccountsOptions } from './accounts/accounts.options.js';
import { accountsOptionsSchema, resolveAccountsOptions } from './accounts/accounts.options.js';
import type { AuditOptions } from './audit/audit.options.js';
import { auditOptionsSchema, resolveAuditOptions } from './audit/audit.options.js';
import type { AuthOptions } from './auth/auth.options.js';
import { authOptionsSchema, resolveAuthOptions } from './auth/auth.options.js';
import type { AuthzOptions } from './authz/authz.options.js';
import { authzOptionsSchema, resolveAuthzOptions } from './authz/authz.options.js';
import type { CoreOptions } from './core/core.options.js';
import { coreOptionsSchema, resolveCoreOptions } from './core/core.options.js';
import { describe, didYouMean, isPlainObject } from './core/option-schema.js';
import { ZeroTrustConfigurationError } from './core/zero-trust-configuration.error.js';
import type { DatabaseOptions } from './database/database.options.js';
import { databaseOptionsSchema, resolveDatabaseOptions } from './database/database.options.js';
import type { HttpOptions } from './http/http.options.js';
import { httpOptionsSchema, resolveHttpOptions } from './http/http.options.js';
import { resolveShutdownOptions, type ShutdownOptions, shutdownOptionsSchema } from './http/shutdown.options.js';
import type { MonitoringOptions } from './monitoring/monitoring.options.js';
import { monitoringOptionsSchema, resolveMonitoringOptions } from './monitoring/monitoring.options.js';
import type { LifecycleOptionsRoot } from './lifecycle/lifecycle.options.js';
import { lifecycleOptionsSchema, resolveLifecycleOptions } from './lifecycle/lifecycle.options.js';
import type { SenderConstraintOptions } from './auth/sender-constraint.options.js';
import { resolveSenderConstraintOptions, senderConstraintOptionsSchema } from './auth/sender-constraint.options.js';
import type { SessionsOptions } from './sessions/sessions.options.js';
import { sessionsOptionsSchema, resolveSessionsOptions } from './sessions/sessions.options.js';
import type { ClientsOptions } from './clients/clients.options.js';
import { clientsOptionsSchema, resolveClientsOptions } from './clients/clients.options.js';
import type { IntegrationsOptions } from './integrations/integrations.options.js';
import { integrationsOptionsSchema, resolveIntegrationsOptions } from './integrations/integrations.options.js';
import type { StoreOptions } from './store/store.options.js';
import { storeOptionsSchema, resolveStoreOptions } from './store/store.options.js';
import type { ThrottleOptions } from './throttle/throttle.options.js';
import { throttleOptionsSchema, resolveThrottleOptions } from './throttle/throttle.options.js';
import type { ValidationOptions } from './validation/validation.options.js';
import { resolveValidationOptions, validationOptionsSchema } from './validation/validation.options.js';

/**
 * Options of `ZeroTrustModule.forRoot()` / `forRootAsync()`: the union of the features' own options.
 * Each feature validates and defaults its fields (at every depth) and provides them under its own
 * token; this file only composes them and refuses names no feature owns. Every duration is in seconds.
 */
export type ZeroTrustModuleOptions = CoreOptions &
  AuditOptions &
  HttpOptions &
  ShutdownOptions &
  ValidationOptions &
  AuthOptions &
  SenderConstraintOptions &
  ClientsOptions &
  IntegrationsOptions &
  SessionsOptions &
  StoreOptions &
  ThrottleOptions &
  DatabaseOptions &
  AuthzOptions &
  MonitoringOptions &
  AccountsOptions &
  LifecycleOptionsRoot;

const SLICES = [
  coreOptionsSchema,
  auditOptionsSchema,
  httpOptionsSchema,
  shutdownOptionsSchema,
  validationOptionsSchema,
  authOptionsSchema,
  senderConstraintOptionsSchema,
  clientsOptionsSchema,
  integrationsOptionsSchema,
  sessionsOptionsSchema,
  storeOptionsSchema,
  throttleOptionsSchema,
  databaseOptionsSchema,
  authzOptionsSchema,
  monitoringOptionsSchema,
  accountsOptionsSchema,
  lifecycleOptionsSchema,
];

const RENAMED: Readonly<Record<string, string>> = {
  redis: 'store (a redis:// URL, an ioredis client, or a ZeroTrustStore)',
  redisKeyPrefix: 'storeKeyPrefix',
};

/** The top-level names some feature owns. */
export const ZERO_TRUST_OPTION_NAMES: readonly string[] = SLICES.flatMap((slice) => slice.names);

/**
 * Resolves every feature's options at once, as the module does at boot: for tests, and for an app
 * that wants to check its configuration in CI before deploying. Throws a ZeroTrustConfigurationError
 * naming the first mistake.
 */
export function resolveZeroTrustOptions(options: ZeroTrustModuleOptions, env: NodeJS.ProcessEnv = process.env) {
  const raw = checkZeroTrustOptions(options);
  const core = resolveCoreOptions(raw, env);
  return {
    core,
    audit: resolveAuditOptions(raw),
    http: resolveHttpOptions(raw),
    shutdown: resolveShutdownOptions(raw),
    validation: resolveValidationOptions(raw),
    auth: resolveAuthOptions(raw, core),
    senderConstraint: resolveSenderConstraintOptions(raw),
    clients: resolveClientsOptions(raw),
    integrations: resolveIntegrationsOptions(raw, core),
    sessions: resolveSessionsOptions(raw),
    store: resolveStoreOptions(raw),
    throttle: resolveThrottleOptions(raw),
    database: resolveDatabaseOptions(raw),
    authz: resolveAuthzOptions(raw),
    monitoring: resolveMonitoringOptions(raw),
    accounts: resolveAccountsOptions(raw, core),
    lifecycle: resolveLifecycleOptions(raw, core),
  };
}

/**
 * Checks the top level of the options: an object, and only names some feature owns. The features
 * check their own fields when their providers resolve them.
 */
export function checkZeroTrustOptions(options: unknown): Record<string, unknown> {
  if (!isPlainObject(options)) {
    throw new ZeroTrustConfigurationError(
      `ZeroTrustModule.forRoot() needs an options object with at least \`issuer\` and \`audience\` (got ${describe(options)}).`,
    );
  }
  for (const name of Object.keys(options)) {
    if (ZERO_TRUST_OPTION_NAMES.includes(name)) continue;
    if (RENAMED[name]) throw new ZeroTrustConfigurationError(`option "${name}" was renamed: use ${RENAMED[name]}.`);
    throw new ZeroTrustConfigurationError(`unknown option "${name}".${didYouMean(name, ZERO_TRUST_OPTION_NAMES)}`);
  }
  return options;
}

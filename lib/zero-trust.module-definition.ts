import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { ZeroTrustModuleOptions } from './zero-trust.options.js';

export const {
  ConfigurableModuleClass: ZeroTrustConfigurableModule,
  MODULE_OPTIONS_TOKEN: ZERO_TRUST_MODULE_OPTIONS,
  OPTIONS_TYPE: ZERO_TRUST_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: ZERO_TRUST_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<ZeroTrustModuleOptions>({ moduleName: 'ZeroTrust' })
  .setClassMethodName('forRoot')
  // Global by default: the guard, TokenService and AuditService serve the whole app.
  .setExtras({ isGlobal: true }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();

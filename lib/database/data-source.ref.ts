import { Inject, Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { DataSource } from 'typeorm';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';
import { DATABASE_CONFIG } from './database.internal-constants.js';
import type { DatabaseConfig } from './database.options.js';
import { RlsIdentities, RlsIdentity } from './rls-identity.js';

/**
 * The app's TypeORM DataSource, looked up lazily: apps that never use ownership checks, sessions or
 * row-level security need neither TypeORM nor a database.
 */
@Injectable()
export class DataSourceRef {
  private dataSource?: DataSource;

  constructor(
    private readonly moduleRef: ModuleRef,
    @Inject(DATABASE_CONFIG) private readonly config: DatabaseConfig,
  ) {}

  async get(): Promise<DataSource> {
    if (this.dataSource) return this.dataSource;
    const token = this.config.dataSource ?? (await import('typeorm')).DataSource;
    try {
      this.dataSource = this.moduleRef.get<DataSource>(token as never, { strict: false });
      if (this.config.identityKey) RlsIdentities.register(this.dataSource, new RlsIdentity(this.config.identityKey));
    } catch {
      throw new ZeroTrustConfigurationError(
        'ownership checks, OwnedRepository and sessions load records through TypeORM, but no DataSource was found. Import ' +
          'TypeOrmModule.forRoot(...) in the app, or set the `dataSource` option to the injection token of yours.',
      );
    }
    return this.dataSource;
  }

  /** The DataSource if one can be found, else `undefined` (for optional boot checks). */
  async find(): Promise<DataSource | undefined> {
    return this.get().catch(() => undefined);
  }
}

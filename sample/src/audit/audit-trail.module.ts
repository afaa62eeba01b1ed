import { type BeforeApplicationShutdown, Global, Inject, Module } from '@nestjs/common';
import { type BufferedAuditSink, typeOrmAuditSink } from 'nestjs-zero-trust';
import { DataSource } from 'typeorm';

export const AUDIT_TRAIL = Symbol('AUDIT_TRAIL');

/**
 * The durable audit trail: events are queued and written in batches to `zt_audit_log`, off the
 * request path (bounded queue, counted drops). Flushed before the database connection closes.
 */
@Global()
@Module({
  providers: [{ provide: AUDIT_TRAIL, useFactory: (dataSource: DataSource) => typeOrmAuditSink(dataSource), inject: [DataSource] }],
  exports: [AUDIT_TRAIL],
})
export class AuditTrailModule implements BeforeApplicationShutdown {
  constructor(@Inject(AUDIT_TRAIL) private readonly trail: BufferedAuditSink) {}

  async beforeApplicationShutdown(): Promise<void> {
    await this.trail.close();
  }
}

import { Global, Module } from '@nestjs/common';
import { typeOrmAuditSink } from 'nestjs-zero-trust';
import { DataSource } from 'typeorm';

export const AUDIT_TRAIL = Symbol('AUDIT_TRAIL');

/**
 * The durable audit trail: events are queued and written in batches to `zt_audit_log`, off the
 * request path (bounded queue, counted drops). ZeroTrustModule flushes and closes it at shutdown,
 * before the database connection closes.
 */
@Global()
@Module({
  providers: [{ provide: AUDIT_TRAIL, useFactory: (dataSource: DataSource) => typeOrmAuditSink(dataSource), inject: [DataSource] }],
  exports: [AUDIT_TRAIL],
})
export class AuditTrailModule {}

import { Global, Module } from '@nestjs/common';
import { MemoryAuditSink } from 'nestjs-zero-trust';

/** The newest audit events, kept in memory for `GET /admin/audit` (bounded: 1000 events). */
@Global()
@Module({
  providers: [{ provide: MemoryAuditSink, useValue: new MemoryAuditSink(1000) }],
  exports: [MemoryAuditSink],
})
export class AuditModule {}

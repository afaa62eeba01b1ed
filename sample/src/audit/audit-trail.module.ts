import { Global, Module } from '@nestjs/common';
import { typeOrmAuditSink } from 'nestjs-zero-trust';
import { join } from 'node:path';
import { DataSource } from 'typeorm';

/**
 * Where audit events wait while the database is down (replayed when it answers, also after a restart):
 * `ZT_AUDIT_SPILL_DIR`, `off` for none; by default `.zt-audit-spill` in the working directory, and none
 * under a test runner (NODE_ENV=test), whose apps come and go with their databases.
 */
export function auditSpillDirectory(env: NodeJS.ProcessEnv = process.env): string | false {
  if (env.ZT_AUDIT_SPILL_DIR) return env.ZT_AUDIT_SPILL_DIR === 'off' ? false : env.ZT_AUDIT_SPILL_DIR;
  return env.NODE_ENV === 'test' ? false : join(process.cwd(), '.zt-audit-spill');
}

export const AUDIT_TRAIL = Symbol('AUDIT_TRAIL');

/**
 * The durable audit trail: events are queued and written in batches to `zt_audit_log`, off the
 * request path (bounded queue, retries with backoff, a spill file while the database is down, counted
 * losses). ZeroTrustModule flushes and closes it at shutdown, after the requests drained and before the
 * database connection closes.
 */
@Global()
@Module({
  providers: [{ provide: AUDIT_TRAIL, useFactory: (dataSource: DataSource) => typeOrmAuditSink(dataSource, { spillDirectory: auditSpillDirectory() }), inject: [DataSource] }],
  exports: [AUDIT_TRAIL],
})
export class AuditTrailModule {}

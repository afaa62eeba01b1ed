import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Each audit row keeps its event's id (a UUID given at publication) under a unique index: the
 * idempotency key of the durable sink, so a batch retried after a lost acknowledgement or a spill file
 * replayed after a crash never stores an event twice. Rows written before have none (NULLs are distinct).
 */
export class ZeroTrustAuditEventId1732000210000 implements MigrationInterface {
  name = 'ZeroTrustAuditEventId1732000210000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "zt_audit_log" ADD COLUMN IF NOT EXISTS "event_id" uuid`);
    await queryRunner.query(`CREATE UNIQUE INDEX IF NOT EXISTS "UQ_zt_audit_log_event_id" ON "zt_audit_log" ("event_id")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX IF EXISTS "UQ_zt_audit_log_event_id"`);
    await queryRunner.query(`ALTER TABLE "zt_audit_log" DROP COLUMN IF EXISTS "event_id"`);
  }
}

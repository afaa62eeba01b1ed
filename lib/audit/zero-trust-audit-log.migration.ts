import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The audit trail table. Give the runtime role INSERT (and, for an admin view, SELECT) only, e.g.
 * `appendOnly: ['zt_audit_log']` in LeastPrivilegeRoleMigration: nobody can rewrite history through the app.
 */
export class ZeroTrustAuditLog1732000200000 implements MigrationInterface {
  name = 'ZeroTrustAuditLog1732000200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE IF NOT EXISTS "zt_audit_log" (
        "id" bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        "time" timestamptz NOT NULL,
        "type" varchar(64) NOT NULL,
        "outcome" varchar(16) NOT NULL,
        "reason" varchar(300),
        "request_id" varchar(64),
        "subject" varchar(300),
        "session_id" varchar(64),
        "ip" varchar(64),
        "method" varchar(16),
        "route" varchar(300),
        "details" jsonb
      )`);
    await queryRunner.query(`CREATE INDEX IF NOT EXISTS "IDX_zt_audit_log_type_time" ON "zt_audit_log" ("type", "time")`);
    await queryRunner.query(`CREATE INDEX IF NOT EXISTS "IDX_zt_audit_log_subject_time" ON "zt_audit_log" ("subject", "time")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE IF EXISTS "zt_audit_log"`);
  }
}

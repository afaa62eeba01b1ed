import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Tables of `TypeOrmMfaStore`: one row per subject's second factor, one row per recovery code. Add it
 * to your DataSource's `migrations`. Secrets are AES-256-GCM ciphertexts (the check refuses anything
 * else, so a bug can never store one in clear); recovery codes are SHA-256 hashes, each its own row so
 * spending one is a single conditional UPDATE (a code list in one column is a read-modify-write that
 * parallel requests race).
 */
export class ZeroTrustMfa1732000120000 implements MigrationInterface {
  name = 'ZeroTrustMfa1732000120000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE IF NOT EXISTS "zt_mfa_factors" (
        "subject" varchar(255) PRIMARY KEY,
        "secret" text CHECK ("secret" LIKE 'v1.%'),
        "pending_secret" text CHECK ("pending_secret" LIKE 'v1.%'),
        "last_used_step" bigint,
        "enabled_at" timestamptz,
        "updated_at" timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`
      CREATE TABLE IF NOT EXISTS "zt_recovery_codes" (
        "subject" varchar(255) NOT NULL,
        "code_hash" char(64) NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "used_at" timestamptz,
        PRIMARY KEY ("subject", "code_hash")
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE IF EXISTS "zt_recovery_codes"`);
    await queryRunner.query(`DROP TABLE IF EXISTS "zt_mfa_factors"`);
  }
}

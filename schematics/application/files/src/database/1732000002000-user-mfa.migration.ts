import type { MigrationInterface, QueryRunner } from 'typeorm';

export class UserMfa1732000002000 implements MigrationInterface {
  name = 'UserMfa1732000002000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "users"
      ADD COLUMN "mfa_secret" varchar(64),
      ADD COLUMN "mfa_enabled" boolean NOT NULL DEFAULT false,
      ADD COLUMN "mfa_last_step" bigint,
      ADD COLUMN "recovery_code_hashes" text[] NOT NULL DEFAULT '{}',
      ADD COLUMN "disabled_at" timestamptz`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "users" DROP COLUMN "mfa_secret", DROP COLUMN "mfa_enabled", DROP COLUMN "mfa_last_step",
      DROP COLUMN "recovery_code_hashes", DROP COLUMN "disabled_at"`);
  }
}

import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Account status. Second factors and recovery codes are the library's (`ZeroTrustMfa1732000120000`:
 * encrypted TOTP secrets, one row per recovery code), not columns of `users`.
 */
export class UserMfa1732000002000 implements MigrationInterface {
  name = 'UserMfa1732000002000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "users" ADD COLUMN IF NOT EXISTS "disabled_at" timestamptz`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "users" DROP COLUMN IF EXISTS "disabled_at"`);
  }
}

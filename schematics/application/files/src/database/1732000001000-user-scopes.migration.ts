import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Scopes granted to a user, copied into their access tokens at login (e.g. `audit:read`, `notes:admin`). */
export class UserScopes1732000001000 implements MigrationInterface {
  name = 'UserScopes1732000001000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "users" ADD COLUMN "scopes" text[] NOT NULL DEFAULT '{}'`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "users" DROP COLUMN "scopes"`);
  }
}

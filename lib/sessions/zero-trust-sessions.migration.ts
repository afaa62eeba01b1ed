import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Tables for login sessions and their refresh tokens. Add it to your DataSource's `migrations`.
 * Refresh tokens are stored only as SHA-256 hashes: a database leak yields no usable token.
 */
export class ZeroTrustSessions1732000100000 implements MigrationInterface {
  name = 'ZeroTrustSessions1732000100000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE IF NOT EXISTS "zt_sessions" (
        "id" uuid PRIMARY KEY,
        "subject" varchar(255) NOT NULL,
        "scopes" text[] NOT NULL DEFAULT '{}',
        "auth_methods" text[] NOT NULL DEFAULT '{}',
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "last_used_at" timestamptz NOT NULL DEFAULT now(),
        "expires_at" timestamptz NOT NULL,
        "revoked_at" timestamptz,
        "revoked_reason" varchar(64)
      )`);
    await queryRunner.query(`CREATE INDEX IF NOT EXISTS "IDX_zt_sessions_subject" ON "zt_sessions" ("subject")`);
    await queryRunner.query(`
      CREATE TABLE IF NOT EXISTS "zt_refresh_tokens" (
        "id" uuid PRIMARY KEY,
        "session_id" uuid NOT NULL REFERENCES "zt_sessions" ("id") ON DELETE CASCADE,
        "token_hash" char(64) NOT NULL UNIQUE,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "expires_at" timestamptz NOT NULL,
        "used_at" timestamptz
      )`);
    await queryRunner.query(`CREATE INDEX IF NOT EXISTS "IDX_zt_refresh_tokens_session" ON "zt_refresh_tokens" ("session_id")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE IF EXISTS "zt_refresh_tokens"`);
    await queryRunner.query(`DROP TABLE IF EXISTS "zt_sessions"`);
  }
}

import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What a session must remember besides being live. Add it to your DataSource's `migrations` after
 * `ZeroTrustSessions1732000100000`.
 *
 * - `issuer`: the per-request check binds a token's `sid` to its `sub` and `iss`, so a token minted for
 *   someone else (a leaked signing key) cannot ride on another subject's live session. Sessions created
 *   before this migration have none and are bound to the subject only.
 * - `roles`: the roles the session was created with, kept beside its scopes for its later access tokens.
 * - `auth_time`: when the user last proved their credentials (login or reauthentication), written into
 *   access tokens as `auth_time` for recent-authentication checks (RFC 9470). Older sessions take their
 *   creation time, never "now": an upgrade must not make every old session look freshly authenticated.
 * - `grants_version`: bumped when the subject's grants change; older access tokens then fail the check.
 * - `successor_id` / `successor_sealed`: the refresh token that replaced this one, sealed with a key only
 *   the holder of this token can derive, for the short refresh grace period (two tabs refreshing at once).
 */
export class ZeroTrustSessionBinding1732000110000 implements MigrationInterface {
  name = 'ZeroTrustSessionBinding1732000110000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "zt_sessions"
      ADD COLUMN IF NOT EXISTS "issuer" varchar(2048),
      ADD COLUMN IF NOT EXISTS "roles" text[] NOT NULL DEFAULT '{}',
      ADD COLUMN IF NOT EXISTS "auth_time" timestamptz,
      ADD COLUMN IF NOT EXISTS "grants_version" integer NOT NULL DEFAULT 0`);
    await queryRunner.query(`UPDATE "zt_sessions" SET "auth_time" = "created_at" WHERE "auth_time" IS NULL`);
    await queryRunner.query(`ALTER TABLE "zt_sessions" ALTER COLUMN "auth_time" SET NOT NULL`);
    await queryRunner.query(`ALTER TABLE "zt_refresh_tokens"
      ADD COLUMN IF NOT EXISTS "successor_id" uuid,
      ADD COLUMN IF NOT EXISTS "successor_sealed" text`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "zt_refresh_tokens" DROP COLUMN IF EXISTS "successor_sealed", DROP COLUMN IF EXISTS "successor_id"`);
    await queryRunner.query(`ALTER TABLE "zt_sessions" DROP COLUMN IF EXISTS "grants_version", DROP COLUMN IF EXISTS "auth_time", DROP COLUMN IF EXISTS "roles", DROP COLUMN IF EXISTS "issuer"`);
  }
}

import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The table of the lifecycle's one-time tokens (address verification and password reset). Only a
 * SHA-256 of each token is stored, so a read of the table (a backup, an injection) yields no usable
 * link; `password_stamp` is a digest of the account's password state when the token was issued, so a
 * reset link is void once the password changed. Spending is one conditional UPDATE (`used_at IS NULL`).
 * `zt_passkeys` holds WebAuthn credentials (public keys and signature counters). Add it to your
 * DataSource's `migrations`, and grant the runtime role SELECT, INSERT, UPDATE on `zt_account_tokens`
 * and SELECT, INSERT, UPDATE, DELETE on `zt_passkeys`.
 */
export class ZeroTrustLifecycle1732000130000 implements MigrationInterface {
  name = 'ZeroTrustLifecycle1732000130000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE IF NOT EXISTS "zt_account_tokens" (
        "token_hash" char(64) PRIMARY KEY,
        "purpose" varchar(16) NOT NULL CHECK ("purpose" IN ('verify', 'reset')),
        "subject" varchar(255) NOT NULL,
        "password_stamp" char(64),
        "expires_at" timestamptz NOT NULL,
        "used_at" timestamptz,
        "created_at" timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`CREATE INDEX IF NOT EXISTS "zt_account_tokens_subject" ON "zt_account_tokens" ("subject", "purpose")`);
    // Passkeys (WebAuthn): public keys only; the signature counter moves forward by a conditional UPDATE.
    await queryRunner.query(`
      CREATE TABLE IF NOT EXISTS "zt_passkeys" (
        "credential_id" varchar(1366) PRIMARY KEY,
        "subject" varchar(255) NOT NULL,
        "public_key" bytea NOT NULL,
        "counter" bigint NOT NULL DEFAULT 0 CHECK ("counter" >= 0),
        "device_type" varchar(16) NOT NULL CHECK ("device_type" IN ('singleDevice', 'multiDevice')),
        "backed_up" boolean NOT NULL DEFAULT false,
        "transports" text[] NOT NULL DEFAULT '{}',
        "name" varchar(64) NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "last_used_at" timestamptz
      )`);
    await queryRunner.query(`CREATE INDEX IF NOT EXISTS "zt_passkeys_subject" ON "zt_passkeys" ("subject")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE IF EXISTS "zt_passkeys"`);
    await queryRunner.query(`DROP TABLE IF EXISTS "zt_account_tokens"`);
  }
}

import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Machine clients and API keys. Secrets are stored as SHA-256 hashes only: they are 256-bit random
 * values, so a slow password hash would add cost and no security (nothing to brute-force).
 *
 * - `zt_api_keys`: one row per key; `id` is the public part of the key (`<prefix>_<id>_<secret>`).
 * - `zt_machine_clients`: OAuth clients of the client-credentials grant, with a secret hash and the
 *   previous one until `previous_expires_at` (rotation overlap); `jwks` holds the public JWK Set of a
 *   private_key_jwt client, or `{ "x5tS256": … }`, the certificate thumbprint of a
 *   self_signed_tls_client_auth one (RFC 8705 §2.2).
 */
export class ZeroTrustClients1732000180000 implements MigrationInterface {
  name = 'ZeroTrustClients1732000180000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE IF NOT EXISTS "zt_api_keys" (
      "id" varchar(32) PRIMARY KEY,
      "name" varchar(200) NOT NULL,
      "owner" varchar(255) NOT NULL,
      "scopes" text[] NOT NULL DEFAULT '{}',
      "secret_hash" char(64) NOT NULL,
      "created_at" timestamptz NOT NULL DEFAULT now(),
      "expires_at" timestamptz,
      "revoked_at" timestamptz,
      "last_used_at" timestamptz)`);
    await queryRunner.query(`CREATE INDEX IF NOT EXISTS "zt_api_keys_owner" ON "zt_api_keys" ("owner")`);
    await queryRunner.query(`CREATE TABLE IF NOT EXISTS "zt_machine_clients" (
      "id" varchar(64) PRIMARY KEY,
      "name" varchar(200) NOT NULL,
      "scopes" text[] NOT NULL DEFAULT '{}',
      "auth_method" varchar(32) NOT NULL,
      "secret_hash" char(64),
      "previous_secret_hash" char(64),
      "previous_expires_at" timestamptz,
      "jwks" jsonb,
      "created_at" timestamptz NOT NULL DEFAULT now(),
      "revoked_at" timestamptz)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE IF EXISTS "zt_machine_clients"`);
    await queryRunner.query(`DROP TABLE IF EXISTS "zt_api_keys"`);
  }
}

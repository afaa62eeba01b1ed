import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * DPoP-bound sessions (RFC 9449 §5): `dpop_jkt`, the thumbprint of the key the client proved at login.
 * The session's refresh tokens are bound to it (the app's clients are public clients: §5 requires it),
 * so a stolen refresh token is useless without the key, and every access token the session yields is
 * bound to it too. Add it to your DataSource's `migrations` after `ZeroTrustSessionBinding1732000110000`;
 * without it, logins that present a DPoP proof are refused with a configuration error.
 */
export class ZeroTrustSessionSenderKey1732000170000 implements MigrationInterface {
  name = 'ZeroTrustSessionSenderKey1732000170000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "zt_sessions" ADD COLUMN IF NOT EXISTS "dpop_jkt" varchar(43)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "zt_sessions" DROP COLUMN IF EXISTS "dpop_jkt"`);
  }
}

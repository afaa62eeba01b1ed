import { LifecycleCredentialsMigration } from 'nestjs-zero-trust';
import type { MigrationInterface, QueryRunner } from 'typeorm';
import { OWNER_ROLE, RUNTIME_ROLE } from './1732000300000-least-privilege.migration.js';

/**
 * The account lifecycle: `users.email_verified_at` (accounts that existed before are taken as verified:
 * they signed in before verification existed), and the runtime role's rights on it and on the
 * library's `zt_account_tokens` and `zt_passkeys` (created by `ZeroTrustLifecycle1732000130000`). The runtime role may read
 * the verification time and the tokens (stored hashed), never write either: `LifecycleCredentialsMigration`
 * gives it the owner's functions instead (issue and void under the subject's signed identity, spend and
 * mark verified only with the clear, mailed token), so injected SQL can neither verify an account nor
 * plant, move or spend a reset token.
 */
const LifecycleCredentials = LifecycleCredentialsMigration({ ownerRole: OWNER_ROLE, runtimeRole: RUNTIME_ROLE });

export class AccountLifecycle1732000320000 implements MigrationInterface {
  name = 'AccountLifecycle1732000320000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE users ADD COLUMN IF NOT EXISTS email_verified_at timestamptz`);
    await queryRunner.query(`UPDATE users SET email_verified_at = created_at WHERE email_verified_at IS NULL`);
    await new LifecycleCredentials().up(queryRunner);
    await queryRunner.query(`ALTER TABLE zt_passkeys OWNER TO ${OWNER_ROLE}`);
    await queryRunner.query(`REVOKE ALL ON TABLE zt_passkeys FROM PUBLIC, ${RUNTIME_ROLE}`);
    await queryRunner.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE zt_passkeys TO ${RUNTIME_ROLE}`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await new LifecycleCredentials().down(queryRunner);
    await queryRunner.query(`REVOKE ALL ON TABLE zt_account_tokens, zt_passkeys FROM ${RUNTIME_ROLE}`);
    await queryRunner.query(`ALTER TABLE users DROP COLUMN IF EXISTS email_verified_at`);
  }
}

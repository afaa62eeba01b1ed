import type { MigrationInterface, QueryRunner } from 'typeorm';
import { RUNTIME_ROLE } from '../database/1732000300000-least-privilege.migration.js';

/**
 * The machine-client and API-key tables were created before the least-privilege migration, which grants
 * only the tables it knows: the runtime role gets exactly what ApiKeyService and MachineClientService
 * need (no DELETE: keys and clients are revoked, never erased, so the audit trail keeps its referents).
 */
export class ClientsGrants1732000340000 implements MigrationInterface {
  name = 'ClientsGrants1732000340000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const role = `"${RUNTIME_ROLE.replace(/"/g, '""')}"`;
    await queryRunner.query(`GRANT SELECT, INSERT, UPDATE ON TABLE "zt_api_keys", "zt_machine_clients" TO ${role}`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const role = `"${RUNTIME_ROLE.replace(/"/g, '""')}"`;
    await queryRunner.query(`REVOKE ALL ON TABLE "zt_api_keys", "zt_machine_clients" FROM ${role}`);
  }
}

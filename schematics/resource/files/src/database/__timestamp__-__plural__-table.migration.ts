import type { MigrationInterface, QueryRunner } from 'typeorm';
import { OWNER_ROLE, RUNTIME_ROLE } from './1732000300000-least-privilege.migration.js';

/**
 * The <%= table %> table, locked down like the rest: owned by the owner role, DML for the runtime role,
 * and row-level security so a query that forgets the owner filter still sees only the caller's rows.
 */
export class <%= pluralClass %>Table<%= timestamp %> implements MigrationInterface {
  name = '<%= pluralClass %>Table<%= timestamp %>';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "<%= table %>" (
        "id" uuid PRIMARY KEY,
        "owner_id" uuid NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
        "title" varchar(200) NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(`CREATE INDEX "IDX_<%= table %>_owner_id" ON "<%= table %>" ("owner_id")`);
    await queryRunner.query(`ALTER TABLE "<%= table %>" OWNER TO "${OWNER_ROLE}"`);
    await queryRunner.query(`REVOKE ALL ON TABLE "<%= table %>" FROM PUBLIC`);
    await queryRunner.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE "<%= table %>" TO "${RUNTIME_ROLE}"`);
    await queryRunner.query(`ALTER TABLE "<%= table %>" ENABLE ROW LEVEL SECURITY`);
    await queryRunner.query(`ALTER TABLE "<%= table %>" FORCE ROW LEVEL SECURITY`);
    // The caller's identity comes from zt_current_subject(), the owner's function that checks the
    // signed identity the module sets per request (the runtime role cannot forge it with set_config).
    await queryRunner.query(`
      CREATE POLICY zero_trust_owner ON "<%= table %>"
        USING ("owner_id"::text = (SELECT zt_current_subject()))
        WITH CHECK ("owner_id"::text = (SELECT zt_current_subject()))`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "<%= table %>"`);
  }
}

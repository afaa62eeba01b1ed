import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Column, DataSource, Entity, PrimaryColumn } from 'typeorm';
import { PGliteDriver } from 'typeorm-pglite';
import { afterAll, describe, expect, it } from 'vitest';

@Entity('notes')
class Note {
  @PrimaryColumn('uuid') id!: string;
  @Column('uuid') ownerId!: string;
}

@Entity('audit_events')
class AuditLog {
  @PrimaryColumn('uuid') id!: string;
}

const cli = fileURLToPath(new URL('../../dist/cli/role-migration.js', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'zt-cli-'));

describe('nestjs-zero-trust-role-migration (CLI)', () => {
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('refuses to run without both role names, printing the usage', () => {
    expect(() => execFileSync(process.execPath, [cli, '--owner-role', 'x'], { stdio: 'pipe' })).toThrow(/--runtime-role/);
  });

  it('refuses a role name that is not a plain SQL name', () => {
    expect(() => execFileSync(process.execPath, [cli, '--owner-role', 'x"; DROP', '--runtime-role', 'y', '--out', out], { stdio: 'pipe' })).toThrow(/plain SQL name/);
  });

  it('writes a migration that, when run, locks the database down for the entities it names', async () => {
    const printed = execFileSync(process.execPath, [cli, '--owner-role', 'cli_owner', '--runtime-role', 'cli_app', '--rls', 'Note::notes:admin', '--append-only', 'AuditLog', '--out', out], { encoding: 'utf8' });
    expect(printed).toMatch(/^CREATE .+-least-privilege\.migration\.ts \(LeastPrivilege\d+\)/);
    const [file] = readdirSync(out);
    const module = (await import(join(out, file))) as Record<string, new () => object>;
    const Migration = Object.values(module)[0];
    process.env.DATABASE_RUNTIME_PASSWORD = 'not-used-on-pglite';
    process.env.ZT_RLS_IDENTITY_KEY = randomBytes(32).toString('base64');
    const db = await new DataSource({ type: 'postgres', driver: new PGliteDriver().driver, entities: [Note, AuditLog], synchronize: true, migrations: [Migration] }).initialize();
    try {
      await db.runMigrations();
      const [notes] = await db.query(`SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = 'notes'`);
      expect(notes).toEqual({ relrowsecurity: true, relforcerowsecurity: true });
      const [policy] = await db.query(`SELECT qual FROM pg_policies WHERE tablename = 'notes'`);
      expect(policy.qual).toContain('notes:admin');
      const grants = await db.query(`SELECT table_name, privilege_type FROM information_schema.role_table_grants WHERE grantee = 'cli_app' ORDER BY 1, 2`);
      expect(grants).toEqual([
        { table_name: 'audit_events', privilege_type: 'INSERT' },
        { table_name: 'notes', privilege_type: 'DELETE' },
        { table_name: 'notes', privilege_type: 'INSERT' },
        { table_name: 'notes', privilege_type: 'SELECT' },
        { table_name: 'notes', privilege_type: 'UPDATE' },
      ]);
    } finally {
      await db.destroy();
    }
  });
});

import { describe, expect, it } from 'vitest';
import { nestNewApp, runner } from './support.js';

describe('role-migration', () => {
  it('writes the migration through the tree (so --dry-run shows it)', async () => {
    const tree = await nestNewApp();
    const result = await runner.runSchematic('role-migration', { ownerRole: 'app_owner', runtimeRole: 'app_runtime', rls: ['Note::notes:admin'], appendOnly: ['AuditLog'] }, tree);
    const [file] = result.files.filter((path) => path.startsWith('/src/migrations/'));
    expect(file).toMatch(/^\/src\/migrations\/\d+-least-privilege\.migration\.ts$/);
    const content = result.readContent(file);
    expect(content).toContain("runtimeRole: 'app_runtime'");
    expect(content).toContain("adminScope: 'notes:admin'");
  });

  it('refuses unsafe role names', async () => {
    const tree = await nestNewApp();
    await expect(runner.runSchematic('role-migration', { ownerRole: 'x; DROP', runtimeRole: 'y' }, tree)).rejects.toThrow(/plain SQL name/);
  });

  it('takes the role names from the one argument the Nest CLI passes (`nest g … role-migration app`)', async () => {
    const result = await runner.runSchematic('role-migration', { name: 'app' }, await nestNewApp());
    const [file] = result.files.filter((path) => path.startsWith('/src/migrations/'));
    const content = result.readContent(file);
    expect(content).toContain("ownerRole: 'app_owner'");
    expect(content).toContain("runtimeRole: 'app_app'");
  });

  it('says how to name the roles when given none', async () => {
    await expect(runner.runSchematic('role-migration', {}, await nestNewApp())).rejects.toThrow(/nest g -c nestjs-zero-trust role-migration <name>/);
  });
});

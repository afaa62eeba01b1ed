import { beforeAll, describe, expect, it } from 'vitest';
import type { UnitTestTree } from '@angular-devkit/schematics/testing/index.js';
import { runner, zeroTrustApp } from './support.js';
import { typecheck } from './typecheck.js';

describe('resource', () => {
  let app: UnitTestTree;
  let tree: UnitTestTree;
  const original: Record<string, string> = {};

  beforeAll(async () => {
    app = await zeroTrustApp();
    for (const file of ['/src/database/database.options.ts', '/src/app.module.ts']) original[file] = app.readContent(file);
    tree = await runner.runSchematic('resource', { name: 'invoice-line' }, await zeroTrustApp());
  });

  it('renders the owned resource from its templates', () => {
    for (const file of ['/src/invoice-lines/invoice-line.entity.ts', '/src/invoice-lines/invoice-line.dto.ts', '/src/invoice-lines/invoice-lines.controller.ts', '/src/invoice-lines/invoice-lines.module.ts', '/test/invoice-lines.e2e-spec.ts']) {
      expect(tree.files, file).toContain(file);
      expect(tree.readContent(file), file).not.toMatch(/<%|%>/);
    }
    expect(tree.readContent('/src/invoice-lines/invoice-line.entity.ts')).toMatch(/@Entity\(\{ name: 'invoice_lines' \}\)\nexport class InvoiceLine \{[\s\S]*@Index\(\)/);
    expect(tree.readContent('/src/invoice-lines/invoice-line.dto.ts')).not.toMatch(/^\s+(ownerId|id)[!?]?:/m);
    expect(tree.readContent('/src/invoice-lines/invoice-lines.controller.ts')).toContain('@OwnsResource(InvoiceLine)');
    expect(tree.readContent('/src/invoice-lines/invoice-lines.controller.ts')).toContain('rows: OwnedRepository<InvoiceLine>');
    const [migration] = tree.files.filter((f) => /^\/src\/database\/\d+-invoice-lines-table\.migration\.ts$/.test(f));
    expect(tree.readContent(migration)).toMatch(/FORCE ROW LEVEL SECURITY[\s\S]*CREATE POLICY zero_trust_owner ON "invoice_lines"/);
    expect(tree.readContent(migration)).toContain('OWNER TO "${OWNER_ROLE}"');
    expect(tree.readContent('/test/invoice-lines.e2e-spec.ts')).not.toMatch(/ZT_|createSampleApp/);
  });

  it('registers the entity, the migration and the module through the syntax tree, changing nothing else', () => {
    const timestamp = /InvoiceLinesTable(\d+)/.exec(tree.readContent('/src/database/database.options.ts'))![1];
    const database = tree.readContent('/src/database/database.options.ts');
    expect(database).toContain('export const ENTITIES = [User, Note, InvoiceLine];');
    // Appended after the project's last migration, in the list's own layout.
    expect(database).toMatch(new RegExp(`\\n  \\w+,\\n  InvoiceLinesTable${timestamp},\\n\\];`));
    const imports = `\nimport { InvoiceLine } from '../invoice-lines/invoice-line.entity.js';\nimport { InvoiceLinesTable${timestamp} } from './${timestamp}-invoice-lines-table.migration.js';`;
    expect(database).toContain(imports);
    expect(database.replace(imports, '').replace(', InvoiceLine]', ']').replace(`\n  InvoiceLinesTable${timestamp},`, '')).toBe(original['/src/database/database.options.ts']);
    const module = tree.readContent('/src/app.module.ts');
    const moduleImport = "\nimport { InvoiceLinesModule } from './invoice-lines/invoice-lines.module.js';";
    expect(module).toContain(moduleImport);
    expect(module).toContain('    AdminModule,\n    InvoiceLinesModule,\n  ],');
    expect(module.replace(moduleImport, '').replace('\n    InvoiceLinesModule,', '')).toBe(original['/src/app.module.ts']);
  });

  it('leaves the test out with --skip-tests', async () => {
    const result = await runner.runSchematic('resource', { name: 'task', skipTests: true }, await zeroTrustApp());
    expect(result.files).toContain('/src/tasks/tasks.controller.ts');
    expect(result.files.some((file) => file.startsWith('/test/tasks'))).toBe(false);
  });

  it('refuses a name it cannot turn into a table, and a resource that exists', async () => {
    await expect(runner.runSchematic('resource', { name: '1; DROP TABLE' }, await zeroTrustApp())).rejects.toThrow(/not a usable resource name/);
    await expect(runner.runSchematic('resource', { name: 'invoice-line' }, tree)).rejects.toThrow(/src\/invoice-lines already exists/);
  });

  it('says the project must come from the application schematic when its layout is missing', async () => {
    const bare = await runner.runExternalSchematic('@nestjs/schematics', 'application', { name: 'demo', directory: '.' });
    await expect(runner.runSchematic('resource', { name: 'task' }, bare)).rejects.toThrow(/Cannot find src\/database\/database\.options\.ts \(the project should come from `nest new -c nestjs-zero-trust`\)/);
  });

  it('keeps the project type-checking', () => {
    expect(typecheck(tree)).toEqual([]);
  }, 120_000);
});

import { SchematicTestRunner, type UnitTestTree } from '@angular-devkit/schematics/testing/index.js';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const collectionPath = fileURLToPath(new URL('../../dist/schematics/collection.json', import.meta.url));
const runner = new SchematicTestRunner('nestjs-zero-trust', collectionPath);

/** An app exactly as `nest new` makes it (ESM, `.js` suffixes), at the tree's root. */
async function nestNewApp(): Promise<UnitTestTree> {
  return runner.runExternalSchematic('@nestjs/schematics', 'application', { name: 'demo', directory: '.', packageManager: 'npm' });
}

describe('collection', () => {
  const collection = JSON.parse(readFileSync(collectionPath, 'utf8')) as { schematics: Record<string, { factory: string; schema: string }> };

  it.each(Object.keys(collection.schematics))('%s resolves to a factory and a schema that parses', async (name) => {
    const entry = collection.schematics[name];
    const [file, exported] = entry.factory.split('#');
    const module = await import(join(dirname(collectionPath), file));
    expect(typeof module[exported]).toBe('function');
    const schema = JSON.parse(readFileSync(join(dirname(collectionPath), entry.schema), 'utf8'));
    expect(schema.type).toBe('object');
  });

  it('is the collection package.json points to', () => {
    const manifest = JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8'));
    expect(manifest.schematics).toBe('./dist/schematics/collection.json');
  });
});

describe('nest-add', () => {
  let added: UnitTestTree;
  const original: Record<string, string> = {};

  beforeAll(async () => {
    const app = await nestNewApp();
    // runSchematic edits the tree it is given: keep the originals to compare with.
    for (const file of ['/src/app.module.ts', '/package.json']) original[file] = app.readContent(file);
    added = await runner.runSchematic('nest-add', { sourceRoot: 'src', skipInstall: true }, app);
  });

  it('imports ZeroTrustModule into the root module with the ESM app\'s .js suffixes, keeping the rest as it was', () => {
    const before = original['/src/app.module.ts'];
    const after = added.readContent('/src/app.module.ts');
    expect(after).toContain("import { ZeroTrustModule } from 'nestjs-zero-trust';");
    expect(after).toContain("import { zeroTrustOptions } from './zero-trust.config.js';");
    expect(after).toMatch(/imports: \[ZeroTrustModule\.forRootAsync\(\{ useFactory: \(\) => zeroTrustOptions\(\) \}\)\]/);
    // Nothing else changed: removing the inserted text gives the original back.
    const restored = after
      .replace("\nimport { ZeroTrustModule } from 'nestjs-zero-trust';\nimport { zeroTrustOptions } from './zero-trust.config.js';", '')
      .replace('ZeroTrustModule.forRootAsync({ useFactory: () => zeroTrustOptions() })', '');
    expect(restored).toBe(before);
  });

  it('writes the configuration, in report mode, with no secret in it', () => {
    const config = added.readContent('/src/zero-trust.config.ts');
    expect(config).toContain("?? 'report'");
    expect(config).toContain('env.ZT_JWT_PRIVATE_KEY');
    const env = added.readContent('/.env.example');
    expect(env).toMatch(/^ZT_JWT_PRIVATE_KEY=$/m);
    expect(env).toContain('openssl genpkey');
  });

  it('adds the dependencies to package.json, keeping its formatting, and schedules no install with --skip-install', () => {
    const before = original['/package.json'];
    const after = added.readContent('/package.json');
    const manifest = JSON.parse(after);
    for (const name of ['nestjs-zero-trust', '@nestjs/passport', '@nestjs/throttler', 'passport', 'class-validator', 'class-transformer']) {
      expect(manifest.dependencies[name], name).toBeDefined();
    }
    // Same lines as before, plus the new ones: no reformatting.
    const beforeLines = before.split('\n').map((line) => line.replace(/,$/, ''));
    const afterLines = new Set(after.split('\n').map((line) => line.replace(/,$/, '')));
    expect(beforeLines.filter((line) => !afterLines.has(line))).toEqual([]);
    expect(runner.tasks).toEqual([]);
  });

  it('schedules the install without --skip-install', async () => {
    const fresh = await nestNewApp();
    await runner.runSchematic('nest-add', { sourceRoot: 'src' }, fresh);
    expect(runner.tasks.map((task) => task.name)).toContain('node-package');
  });

  it('changes nothing when run twice', async () => {
    const again = await runner.runSchematic('nest-add', { sourceRoot: 'src', skipInstall: true }, added);
    for (const file of added.files) expect(again.readContent(file), file).toBe(added.readContent(file));
  });

  it('follows a CommonJS app without suffixes and a module without imports', async () => {
    const tree = await nestNewApp();
    tree.overwrite(
      '/src/app.module.ts',
      "import { Module } from '@nestjs/common';\nimport { AppController } from './app.controller';\n\n@Module({\n  controllers: [AppController],\n})\nexport class AppModule {}\n",
    );
    const result = await runner.runSchematic('nest-add', { skipInstall: true }, tree);
    const content = result.readContent('/src/app.module.ts');
    expect(content).toContain("import { zeroTrustOptions } from './zero-trust.config';");
    expect(content).toContain('@Module({\n  imports: [ZeroTrustModule.forRootAsync({ useFactory: () => zeroTrustOptions() })],\n  controllers: [AppController],');
  });

  it('says what to do when the root module is not where it looks', async () => {
    const tree = await nestNewApp();
    await expect(runner.runSchematic('nest-add', { sourceRoot: 'lib', skipInstall: true }, tree)).rejects.toThrow(/Cannot find lib\/app\.module\.ts\. Pass --sourceRoot/);
  });
});

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
});

describe('application', () => {
  it('generates a complete project: the zero-trust sample as src/, its attack tests, configs and pinned dependencies', async () => {
    const tree = await runner.runSchematic('application', { name: 'My-API', packageManager: 'npm' });
    const files = tree.files;
    for (const file of ['/my-api/package.json', '/my-api/tsconfig.json', '/my-api/nest-cli.json', '/my-api/vitest.config.ts', '/my-api/.gitignore', '/my-api/.env.example', '/my-api/README.md', '/my-api/src/main.ts', '/my-api/src/app.module.ts', '/my-api/src/database/1732000300000-least-privilege.migration.ts', '/my-api/test/security.e2e-spec.ts']) {
      expect(files, file).toContain(file);
    }
    const manifest = JSON.parse(tree.readContent('/my-api/package.json'));
    expect(manifest).toMatchObject({ name: 'my-api', type: 'module', scripts: { test: 'vitest run' } });
    expect(manifest.dependencies['nestjs-zero-trust']).toMatch(/^\^\d/);
    expect(manifest.devDependencies.vitest).toBeDefined();
    expect(tree.readContent('/my-api/README.md')).toMatch(/^# my-api/);
    expect(tree.readContent('/my-api/.env.example')).toMatch(/^ZT_JWT_PRIVATE_KEY=$/m);
  });

  it('leaves the tests out with --skip-tests', async () => {
    const tree = await runner.runSchematic('application', { name: 'lean', skipTests: true });
    expect(tree.files.some((file) => file.startsWith('/lean/test/'))).toBe(false);
  });
});

describe('resource', () => {
  it('adds an owned resource and registers it in the module, the entities and the migrations', async () => {
    const app = await runner.runSchematic('application', { name: 'api', directory: '.' });
    const tree = await runner.runSchematic('resource', { name: 'invoice-line' }, app);
    for (const file of ['/src/invoice-lines/invoice-line.entity.ts', '/src/invoice-lines/invoice-line.dto.ts', '/src/invoice-lines/invoice-lines.controller.ts', '/src/invoice-lines/invoice-lines.module.ts', '/test/invoice-lines.e2e-spec.ts']) {
      expect(tree.files, file).toContain(file);
    }
    const entity = tree.readContent('/src/invoice-lines/invoice-line.entity.ts');
    expect(entity).toContain('@Index()');
    expect(tree.readContent('/src/invoice-lines/invoice-line.dto.ts')).not.toMatch(/^\s+(ownerId|id)[!?]?:/m);
    expect(tree.readContent('/src/invoice-lines/invoice-lines.controller.ts')).toContain('@OwnsResource(InvoiceLine)');
    const [migration] = tree.files.filter((f) => /invoice-lines-table\.migration\.ts$/.test(f));
    expect(tree.readContent(migration)).toMatch(/FORCE ROW LEVEL SECURITY[\s\S]*CREATE POLICY zero_trust_owner ON "invoice_lines"/);
    const database = tree.readContent('/src/database/database.options.ts');
    expect(database).toMatch(/export const ENTITIES = \[User, Note, InvoiceLine\]/);
    expect(database).toMatch(/LeastPrivilege1732000300000, InvoiceLinesTable\d+\]/);
    expect(tree.readContent('/src/app.module.ts')).toContain("import { InvoiceLinesModule } from './invoice-lines/invoice-lines.module.js';");
  });

  it('refuses a name it cannot turn into a table', async () => {
    const app = await runner.runSchematic('application', { name: 'api', directory: '.' });
    await expect(runner.runSchematic('resource', { name: '1; DROP TABLE' }, app)).rejects.toThrow(/not a usable resource name/);
  });
});

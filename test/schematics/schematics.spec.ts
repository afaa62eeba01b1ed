import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { collectionPath } from './support.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const sources = join(root, 'schematics');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const collection = JSON.parse(readFileSync(collectionPath, 'utf8')) as {
  schematics: Record<string, { factory: string; schema: string; description: string; aliases?: string[] }>;
};

function files(dir: string, keep: (path: string) => boolean): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path, keep) : keep(path) ? [path] : [];
  });
}

/** The module specifiers a file imports at run time (type-only imports are erased). */
function runtimeImports(path: string): string[] {
  const source = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && !node.importClause?.isTypeOnly && ts.isStringLiteral(node.moduleSpecifier)) found.push(node.moduleSpecifier.text);
    if (ts.isExportDeclaration(node) && !node.isTypeOnly && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) found.push(node.moduleSpecifier.text);
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) found.push(node.arguments[0].text);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const packageName = (specifier: string) => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');

describe('collection', () => {
  it('is the collection package.json points to', () => {
    expect(manifest.schematics).toBe('./dist/schematics/collection.json');
  });

  it.each(Object.keys(collection.schematics))('%s resolves to a factory and a schema that parses', async (name) => {
    const entry = collection.schematics[name];
    const [file, exported] = entry.factory.split('#');
    const module = await import(join(dirname(collectionPath), file));
    expect(typeof module[exported]).toBe('function');
    const schema = JSON.parse(readFileSync(join(dirname(collectionPath), entry.schema), 'utf8'));
    expect(schema).toMatchObject({ type: 'object', properties: expect.any(Object) });
    expect(typeof schema.$id).toBe('string');
    for (const required of schema.required ?? []) expect(schema.properties, `${name}: required ${required}`).toHaveProperty(required);
    expect(entry.description.length).toBeGreaterThan(10);
  });

  it.each(Object.keys(collection.schematics))('%s is one folder: <name>.factory.ts, schema.json, a typed <name>.schema.d.ts naming every option', (name) => {
    const folder = join(sources, name);
    expect(collection.schematics[name].factory).toBe(`./${name}/${name}.factory.js#${collection.schematics[name].factory.split('#')[1]}`);
    for (const file of [`${name}.factory.ts`, 'schema.json', `${name}.schema.d.ts`]) expect(existsSync(join(folder, file)), `${name}/${file}`).toBe(true);
    // Every option of schema.json is a property of the typed options interface.
    const schema = JSON.parse(readFileSync(join(folder, 'schema.json'), 'utf8'));
    const typed = ts.createSourceFile('options.d.ts', readFileSync(join(folder, `${name}.schema.d.ts`), 'utf8'), ts.ScriptTarget.Latest, true);
    const declared = new Set(
      typed.statements.filter(ts.isInterfaceDeclaration).flatMap((declaration) => declaration.members.flatMap((member) => (member.name && ts.isIdentifier(member.name) ? [member.name.text] : []))),
    );
    expect(Object.keys(schema.properties).filter((option) => !declared.has(option))).toEqual([]);
  });

  it('has no alias or name twice', () => {
    const names = Object.entries(collection.schematics).flatMap(([name, entry]) => [name, ...(entry.aliases ?? [])]);
    expect(new Set(names).size).toBe(names.length);
  });

  it('builds every template folder into dist (templates are copied, never compiled)', () => {
    for (const name of Object.keys(collection.schematics)) {
      const templates = join(sources, name, 'files');
      if (!existsSync(templates)) continue;
      const built = files(templates, () => true).map((path) => relative(templates, path));
      expect(files(join(dirname(collectionPath), name, 'files'), () => true).map((path) => relative(join(dirname(collectionPath), name, 'files'), path)).sort()).toEqual(built.sort());
    }
  });
});

describe('what the schematics need at run time', () => {
  const factories = files(sources, (path) => path.endsWith('.ts') && !path.endsWith('.d.ts') && !path.includes('/files/'));
  const declared = new Set([...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {}), manifest.name]);

  it('imports only node built-ins, their own files, this package and what it declares (never a devDependency)', () => {
    const undeclared = factories.flatMap((file) =>
      runtimeImports(file)
        .filter((specifier) => !specifier.startsWith('.') && !specifier.startsWith('node:') && !builtinModules.includes(specifier))
        .filter((specifier) => !declared.has(packageName(specifier)))
        .map((specifier) => `${relative(root, file)}: ${specifier}`),
    );
    expect(undeclared).toEqual([]);
  });

  it('imports no private path of another package', () => {
    const deep = factories.flatMap((file) => runtimeImports(file).filter((specifier) => /\/(src|lib|dist)\//.test(specifier)).map((specifier) => `${relative(root, file)}: ${specifier}`));
    expect(deep).toEqual([]);
  });

  it('loads the toolchain the Nest CLI brings, and keeps it out of what an app installs (dependencies and peers)', () => {
    // utils/toolchain.ts loads these at run time from beside the package, the engine or the project.
    const path = join(sources, 'utils/toolchain.ts');
    const loaded = new Set<string>();
    const visit = (node: ts.Node) => {
      if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'load' && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) {
        loaded.add(packageName(node.arguments[0].text));
      }
      ts.forEachChild(node, visit);
    };
    visit(ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true));
    expect([...loaded].sort()).toEqual(['@angular-devkit/schematics', 'jsonc-parser', 'typescript']);
    for (const name of loaded) {
      expect(manifest.dependencies?.[name], `${name} in dependencies`).toBeUndefined();
      // A peer the app also has through @nestjs/cli becomes "devOptional": npm keeps it with --omit=dev.
      expect(manifest.peerDependencies?.[name], `${name} in peerDependencies`).toBeUndefined();
      expect(manifest.devDependencies?.[name], `${name} in devDependencies (build and tests)`).toBeDefined();
    }
  });
});

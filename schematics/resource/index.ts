import { chain, type Rule, SchematicsException, type SchematicContext, type Tree } from '@angular-devkit/schematics';
import { posix } from 'node:path';
import { addToModuleImports } from '../utils/module-editor.js';
import { resourceNames } from './names.js';
import * as templates from './templates.js';

export interface ResourceOptions {
  name: string;
  sourceRoot?: string;
  skipTests?: boolean;
}

/** Adds `Name` to an exported array literal (`export const ENTITIES = [...]`) and imports it. */
function addToArray(tree: Tree, path: string, arrayName: string, symbol: string, importPath: string): void {
  const source = tree.read(path)?.toString('utf8');
  if (source === undefined) throw new SchematicsException(`Cannot find ${path} (the project should come from \`nest new -c nestjs-zero-trust\`).`);
  const match = new RegExp(`(const ${arrayName}\\s*=\\s*\\[)([^\\]]*)(\\])`).exec(source);
  if (!match) throw new SchematicsException(`${path} has no \`const ${arrayName} = [...]\`: add ${symbol} there by hand.`);
  if (match[2].split(',').map((item) => item.trim()).includes(symbol)) return;
  const items = match[2].trim() ? `${match[2].trimEnd()}, ${symbol}` : symbol;
  let updated = source.slice(0, match.index) + match[1] + items + match[3] + source.slice(match.index + match[0].length);
  const lastImport = [...updated.matchAll(/^import .+;$/gm)].at(-1);
  const line = `import { ${symbol} } from '${importPath}';`;
  if (!updated.includes(line)) {
    const at = lastImport ? lastImport.index! + lastImport[0].length : 0;
    updated = `${updated.slice(0, at)}\n${line}${updated.slice(at)}`;
  }
  tree.overwrite(path, updated);
}

/**
 * `nest g -c nestjs-zero-trust resource <name>`: an owned CRUD resource wired the zero-trust way —
 * entity with an indexed owner column, DTOs without owner or id, an `@OwnsResource` controller, the
 * table's migration with its grants and row-level-security policy, and a BOLA e2e test.
 */
export function resource(options: ResourceOptions): Rule {
  let names: ReturnType<typeof resourceNames>;
  try {
    names = resourceNames(options.name ?? '');
  } catch (error) {
    throw new SchematicsException((error as Error).message);
  }
  const root = posix.normalize(options.sourceRoot ?? 'src');
  const folder = posix.join(root, names.plural);
  const timestamp = Date.now();
  return chain([
    (tree: Tree) => {
      if (tree.exists(posix.join(folder, `${names.file}.entity.ts`))) throw new SchematicsException(`${folder} already exists.`);
      tree.create(posix.join(folder, `${names.file}.entity.ts`), templates.entity(names));
      tree.create(posix.join(folder, `${names.file}.dto.ts`), templates.dto(names));
      tree.create(posix.join(folder, `${names.plural}.controller.ts`), templates.controller(names));
      tree.create(posix.join(folder, `${names.plural}.module.ts`), templates.module(names));
      tree.create(posix.join(root, 'database', `${timestamp}-${names.plural}-table.migration.ts`), templates.migration(names, timestamp));
      if (!options.skipTests) tree.create(posix.join(posix.dirname(root), 'test', `${names.plural}.e2e-spec.ts`), templates.e2e(names));
    },
    (tree: Tree) => {
      const database = posix.join(root, 'database', 'database.options.ts');
      addToArray(tree, database, 'ENTITIES', names.className, `../${names.plural}/${names.file}.entity.js`);
      addToArray(tree, database, 'MIGRATIONS', `${names.pluralClass}Table${timestamp}`, `./${timestamp}-${names.plural}-table.migration.js`);
      addToModuleImports(
        tree,
        posix.join(root, 'app.module.ts'),
        [{ symbol: `${names.pluralClass}Module`, declaration: `import { ${names.pluralClass}Module } from './${names.plural}/${names.plural}.module.js';` }],
        `${names.pluralClass}Module`,
      );
    },
    (_tree: Tree, context: SchematicContext) => {
      context.logger.info(`${names.pluralClass}: owner-only CRUD at /${names.route}, table ${names.table} with row-level security. Run your tests: npm test`);
    },
  ]);
}

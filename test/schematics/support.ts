import { SchematicTestRunner, type UnitTestTree } from '@angular-devkit/schematics/testing/index.js';
import { fileURLToPath } from 'node:url';

/** The built collection (`npm run build`), as `nest` finds it through package.json's "schematics". */
export const collectionPath = fileURLToPath(new URL('../../dist/schematics/collection.json', import.meta.url));
export const runner = new SchematicTestRunner('nestjs-zero-trust', collectionPath);

/**
 * An app exactly as `nest new` makes it (ESM, `.js` suffixes), at the tree's root: @nestjs/schematics'
 * own `application` schematic, the one the Nest CLI runs.
 */
export function nestNewApp(): Promise<UnitTestTree> {
  return runner.runExternalSchematic('@nestjs/schematics', 'application', { name: 'demo', directory: '.', packageManager: 'npm' });
}

/** A project as `nest new my-api -c nestjs-zero-trust` makes it, at the tree's root. */
export function zeroTrustApp(name = 'api'): Promise<UnitTestTree> {
  return runner.runSchematic('application', { name, directory: '.' });
}

/** Every file of a tree with its content. */
export function contents(tree: UnitTestTree): Map<string, string> {
  return new Map(tree.files.map((file) => [file, tree.readContent(file)]));
}

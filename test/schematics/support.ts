import { SchematicTestRunner, type UnitTestTree } from '@angular-devkit/schematics/testing/index.js';
import { join } from 'node:path';
import { builtPackage } from '../package/built-package.js';

/**
 * The built collection, as `nest` finds it through package.json's "schematics": the package built from
 * the working tree into a folder of the tests' own (the repository's dist/ belongs to `npm run build`).
 */
export const collectionPath = join(builtPackage(), 'dist/schematics/collection.json');
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

import type { Rule, SchematicContext, Source, Tree } from '@angular-devkit/schematics';
import { posix } from 'node:path';
import { apply, chain, mergeWith, move, noop, SchematicsException, template, url } from '../utils/toolchain.js';
import { TypeScriptFile } from '../utils/typescript-file.js';
import { type ResourceNames, resourceNames } from './resource.names.js';
import type { ResourceOptions } from './resource.schema.js';

interface ResourceContext extends ResourceNames {
  sourceRoot: string;
  /** Where the e2e tests live: `test/` beside the sources' folder. */
  testRoot: string;
  /** The migration's timestamp, which orders it after every existing one. */
  timestamp: number;
  skipTests: boolean;
}

/**
 * `nest g -c nestjs-zero-trust resource <name>`: an owned CRUD resource wired the zero-trust way:
 * entity with an indexed owner column, DTOs without owner or id, an `@OwnsResource` controller, the
 * table's migration with its grants and row-level-security policy, and a BOLA e2e test. It needs the
 * layout `nest new -c nestjs-zero-trust` makes (database/database.options.ts, the least-privilege migration).
 */
export function resource(raw: ResourceOptions): Rule {
  const options = normalize(raw);
  return chain([
    refuseExisting(options),
    mergeWith(generate('./files/src', options.sourceRoot, options)),
    options.skipTests ? noop() : mergeWith(generate('./files/test', options.testRoot, options)),
    register(options),
    (_tree: Tree, context: SchematicContext) => {
      context.logger.info(`${options.pluralClass}: owner-only CRUD at /${options.route}, table ${options.table} with row-level security. Run your tests: npm test`);
    },
  ]);
}

function normalize(options: ResourceOptions): ResourceContext {
  let names: ResourceNames;
  try {
    names = resourceNames(options.name ?? '');
  } catch (error) {
    throw new SchematicsException((error as Error).message);
  }
  const sourceRoot = posix.normalize(options.sourceRoot || 'src').replace(/\/+$/, '');
  return { ...names, sourceRoot, testRoot: posix.join(posix.dirname(sourceRoot), 'test'), timestamp: Date.now(), skipTests: options.skipTests === true };
}

function generate(folder: string, destination: string, options: ResourceContext): Source {
  return apply(url(folder), [template({ ...options }), move(destination)]);
}

function refuseExisting(options: ResourceContext): Rule {
  return (tree: Tree) => {
    const folder = posix.join(options.sourceRoot, options.plural);
    if (tree.getDir(folder).subfiles.length || tree.getDir(folder).subdirs.length) throw new SchematicsException(`${folder} already exists.`);
  };
}

/** Registers the entity and the migration with the data source, and the module with the app. */
function register(options: ResourceContext): Rule {
  return (tree: Tree) => {
    const hint = 'the project should come from `nest new -c nestjs-zero-trust`';
    const databasePath = posix.join(options.sourceRoot, 'database', 'database.options.ts');
    const database = new TypeScriptFile(tree, databasePath, `Cannot find ${databasePath} (${hint}).`);
    const migration = `${options.pluralClass}Table${options.timestamp}`;
    database.addNamedImport(options.className, `../${options.plural}/${options.file}.entity.js`);
    database.addNamedImport(migration, `./${options.timestamp}-${options.plural}-table.migration.js`);
    database.addToArray('ENTITIES', options.className);
    database.addToArray('MIGRATIONS', migration);

    const modulePath = posix.join(options.sourceRoot, 'app.module.ts');
    const module = new TypeScriptFile(tree, modulePath, `Cannot find ${modulePath} (${hint}).`);
    module.addNamedImport(`${options.pluralClass}Module`, `./${options.plural}/${options.plural}.module.js`);
    module.addModuleImport(`${options.pluralClass}Module`);
  };
}

import type { Rule, SchematicContext, Source, Tree } from '@angular-devkit/schematics';
import { posix } from 'node:path';
import { JsonFile } from '../utils/json-file.js';
import { testedVersion } from '../utils/own-manifest.js';
import { apply, chain, filter, forEach, mergeWith, move, noop, SchematicsException, template, url } from '../utils/toolchain.js';
import { TypeScriptFile } from '../utils/typescript-file.js';
import { type ResourceNames, resourceNames } from './resource.names.js';
import type { ResourceOptions, ResourceTransport } from './resource.schema.js';
import { addWebSocketSetup } from './websocket-bootstrap.update.js';

const TRANSPORTS: readonly ResourceTransport[] = ['rest', 'graphql', 'ws'];

interface ResourceContext extends ResourceNames {
  sourceRoot: string;
  /** Where the e2e tests live: `test/` beside the sources' folder. */
  testRoot: string;
  /** The migration's timestamp, which orders it after every existing one. */
  timestamp: number;
  skipTests: boolean;
  transport: ResourceTransport;
}

/** What each transport needs beside the app made by `nest new -c nestjs-zero-trust`, pinned to the versions this package is tested with. */
const TRANSPORT_PACKAGES: Record<ResourceTransport, { dependencies: string[]; devDependencies: string[] }> = {
  rest: { dependencies: [], devDependencies: [] },
  graphql: { dependencies: ['@nestjs/graphql', '@nestjs/apollo', '@apollo/server', '@as-integrations/express5', 'graphql', '@escape.tech/graphql-armor'], devDependencies: [] },
  ws: { dependencies: ['@nestjs/websockets', '@nestjs/platform-ws'], devDependencies: ['ws', '@types/ws'] },
};

const GRAPHQL_ROOT = { file: 'graphql/graphql-api.module.ts', module: 'GraphqlApiModule' };
const WEBSOCKET_SETUP = 'websockets/websockets.setup.ts';

/**
 * `nest g -c nestjs-zero-trust resource <name> [--transport rest|graphql|ws]`: an owned CRUD resource
 * wired the zero-trust way: entity with an indexed owner column, payloads without owner or id, handlers
 * under `@OwnsResource` / `OwnedRepository`, the table's migration with its grants and row-level-security
 * policy (the module runs GraphQL fields and socket messages under the caller's identity too), and a BOLA
 * e2e test. `graphql` serves it from a resolver (and adds the app's `/graphql` once), `ws` from a gateway
 * (and puts the zero-trust WebSocket adapter in main.ts once).
 * It needs the layout `nest new -c nestjs-zero-trust` makes (database/database.options.ts, the least-privilege migration).
 */
export function resource(raw: ResourceOptions): Rule {
  const options = normalize(raw);
  const transport = options.transport;
  return chain([
    refuseExisting(options),
    mergeWith(sources(options)),
    options.skipTests ? noop() : mergeWith(generate(`./files/${transport === 'rest' ? '' : `${transport}/`}test`, options.testRoot, options)),
    transport === 'rest' ? noop() : createMissing(generate(`./files/${transport}/shared`, options.sourceRoot, options)),
    register(options),
    transport === 'rest' ? noop() : addPackages(options),
    transport === 'ws' ? (tree: Tree) => void addWebSocketSetup(tree, options.sourceRoot, posix.join(options.sourceRoot, WEBSOCKET_SETUP)) : noop(),
    (_tree: Tree, context: SchematicContext) => context.logger.info(summary(options)),
  ]);
}

function normalize(options: ResourceOptions): ResourceContext {
  let names: ResourceNames;
  try {
    names = resourceNames(options.name ?? '');
  } catch (error) {
    throw new SchematicsException((error as Error).message);
  }
  const transport = options.transport ?? 'rest';
  if (!TRANSPORTS.includes(transport)) {
    throw new SchematicsException(`--transport ${JSON.stringify(transport)} is not a transport: use rest (a controller), graphql (a resolver) or ws (a gateway).`);
  }
  const sourceRoot = posix.normalize(options.sourceRoot || 'src').replace(/\/+$/, '');
  return {
    ...names,
    sourceRoot,
    testRoot: posix.join(posix.dirname(sourceRoot), 'test'),
    timestamp: Date.now(),
    skipTests: options.skipTests === true,
    transport,
  };
}

function generate(folder: string, destination: string, options: ResourceContext): Source {
  return apply(url(folder), [template({ ...options }), move(destination)]);
}

/** REST: the whole of files/src. Other transports: its entity and migration, and their own handlers and module. */
function sources(options: ResourceContext): Source {
  const shared = (path: string) => path.endsWith('.entity.ts') || path.startsWith('/database/');
  if (options.transport === 'rest') return generate('./files/src', options.sourceRoot, options);
  const common = apply(url('./files/src'), [filter(shared), template({ ...options }), move(options.sourceRoot)]);
  const own = generate(`./files/${options.transport}/src`, options.sourceRoot, options);
  return apply(common, [mergeWith(own)]);
}

/** Files the app has already (the GraphQL root, the WebSocket setup of an earlier resource) are kept as they are. */
function createMissing(source: Source): Rule {
  return (tree: Tree) => mergeWith(apply(source, [forEach((entry) => (tree.exists(entry.path) ? null : entry))]));
}

function refuseExisting(options: ResourceContext): Rule {
  return (tree: Tree) => {
    const folder = posix.join(options.sourceRoot, options.plural);
    if (tree.getDir(folder).subfiles.length || tree.getDir(folder).subdirs.length) throw new SchematicsException(`${folder} already exists.`);
  };
}

/** Registers the entity and the migration with the data source, and the module (and the GraphQL root) with the app. */
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
    if (options.transport === 'graphql' && !module.importedNames().has(GRAPHQL_ROOT.module)) {
      module.addNamedImport(GRAPHQL_ROOT.module, `./${GRAPHQL_ROOT.file.replace(/\.ts$/, '.js')}`);
      module.addModuleImport(GRAPHQL_ROOT.module);
    }
    module.addNamedImport(`${options.pluralClass}Module`, `./${options.plural}/${options.plural}.module.js`);
    module.addModuleImport(`${options.pluralClass}Module`);
  };
}

/** The transport's packages in the app's package.json (an app that has one keeps its own range). */
function addPackages(options: ResourceContext): Rule {
  return (tree: Tree, context: SchematicContext) => {
    const path = posix.join(posix.dirname(options.sourceRoot), 'package.json');
    if (!tree.exists(path)) return;
    const manifest = new JsonFile(tree, path);
    const added: string[] = [];
    const { dependencies, devDependencies } = TRANSPORT_PACKAGES[options.transport];
    for (const [section, names] of [['dependencies', dependencies], ['devDependencies', devDependencies]] as const) {
      for (const name of names) {
        if (manifest.get(['dependencies', name]) !== undefined || manifest.get(['devDependencies', name]) !== undefined) continue;
        manifest.set([section, name], testedVersion(name));
        added.push(name);
      }
    }
    if (added.length) context.logger.info(`Dependencies for ${path}: ${added.join(', ')} (run npm install).`);
  };
}

function summary(options: ResourceContext): string {
  const tail = `table ${options.table} with row-level security`;
  if (options.transport === 'graphql') {
    return `${options.pluralClass}: owner-only GraphQL at /graphql (${options.pluralProperty}, ${options.property}(id:), create/update/delete${options.className}), ${tail}. Run: npm install && npm test`;
  }
  if (options.transport === 'ws') {
    return `${options.pluralClass}: owner-only WebSocket gateway at /${options.route} (${options.route}:list|get|create|update|delete), ${tail}. Run: npm install && npm test`;
  }
  return `${options.pluralClass}: owner-only CRUD at /${options.route}, ${tail}. Run your tests: npm test`;
}

import type { Rule, SchematicContext, Source, Tree } from '@angular-devkit/schematics';
import { posix } from 'node:path';
import { JsonFile } from '../utils/json-file.js';
import { ownManifest, supportedRange } from '../utils/own-manifest.js';
import { apply, chain, forEach, MergeStrategy, mergeWith, move, nodePackageInstallTask, SchematicsException, template, url } from '../utils/toolchain.js';
import { TypeScriptFile } from '../utils/typescript-file.js';
import { type E2eExampleUpdate, updateE2eExample } from './e2e-example.update.js';
import type { NestAddOptions } from './nest-add.schema.js';
import { updateWebSocketAdapter, type WebSocketAdapterUpdate } from './websocket-adapter.update.js';

const CONFIG_FILE = 'zero-trust.config.ts';

/** This package and what it needs beside itself that an app made by `nest new` does not have. */
const DEPENDENCIES = ['nestjs-zero-trust', '@nestjs/passport', '@nestjs/throttler', 'passport', 'class-validator', 'class-transformer'];

interface NestAddContext {
  sourceRoot: string;
  /** `--module`, relative to sourceRoot; unset: found from main.ts. */
  module?: string;
  configPath: string;
  /** The app's folder: where `.env.example` goes. */
  root: string;
  authorization: 'report' | 'strict';
  skipInstall: boolean;
  /** Key prefix in a shared store (Redis): the app's package name, so two apps on one Redis keep apart. */
  prefix: string;
}

/** `<package name>:` (a scope's `@` and `/` dropped), else `zt:`. */
function storePrefix(tree: Tree, root: string): string {
  const path = packageJsonOf(tree, root);
  const name = tree.exists(path) ? new JsonFile(tree, path).get(['name']) : undefined;
  const plain = typeof name === 'string' ? name.replace(/^@/, '').replace(/[^A-Za-z0-9._-]+/g, '-') : '';
  return plain ? `${plain}:` : 'zt:';
}

/**
 * `nest add nestjs-zero-trust`: wires ZeroTrustModule into an existing app. Everything it writes is
 * checked first, so running it twice changes nothing. Existing apps start in `report` authorization
 * mode: the first boot lists the routes that need a rule instead of refusing to start.
 */
export function nestAdd(raw: NestAddOptions): Rule {
  const options = normalize(raw);
  let e2e: E2eExampleUpdate = 'missing';
  let keptConfiguration = false;
  let webSockets: WebSocketAdapterUpdate = 'none';
  return chain([
    addModuleImport(options),
    (tree: Tree) => {
      keptConfiguration = tree.exists(options.configPath);
      options.prefix = storePrefix(tree, options.root);
    },
    () => createMissing(configuration(options)),
    appendEnvironment(options),
    (tree: Tree) => {
      e2e = updateE2eExample(tree, posix.join(options.root, 'test/app.e2e-spec.ts'));
      webSockets = updateWebSocketAdapter(tree, posix.join(options.sourceRoot, 'main.ts'));
    },
    (tree: Tree, context: SchematicContext) => {
      const manifest = packageJsonOf(tree, options.root);
      addDependencies(tree, manifest, context);
      if (!options.skipInstall) context.addTask(nodePackageInstallTask({ workingDirectory: posix.dirname(manifest) }));
    },
    (tree: Tree, context: SchematicContext) => explain(options, { e2e, keptConfiguration, webSockets }, context),
  ]);
}

function normalize(options: NestAddOptions): NestAddContext {
  const sourceRoot = posix.normalize(options.sourceRoot || 'src').replace(/\/+$/, '') || '.';
  return {
    sourceRoot,
    module: options.module || undefined,
    configPath: posix.join(sourceRoot, CONFIG_FILE),
    root: posix.dirname(sourceRoot),
    authorization: options.authorization === 'strict' ? 'strict' : 'report',
    skipInstall: options.skipInstall === true,
    prefix: 'zt:',
  };
}

const ENTRY = 'ZeroTrustModule.forRootAsync({ useFactory: () => zeroTrustOptions() })';

/**
 * The root module: `--module` when given, else the class `main.ts` hands to `NestFactory.create()` (in
 * the file it imports it from), else `app.module.ts`. Guessing the first @Module class of a file once
 * patched a helper module and left the app itself unprotected.
 */
function rootModule(tree: Tree, options: NestAddContext): { path: string; className?: string } {
  if (options.module) return { path: posix.join(options.sourceRoot, options.module) };
  const main = posix.join(options.sourceRoot, 'main.ts');
  const fallback = { path: posix.join(options.sourceRoot, 'app.module.ts') };
  if (!tree.exists(main)) return fallback;
  const bootstrapped = new TypeScriptFile(tree, main).bootstrappedModule();
  if (!bootstrapped) return fallback;
  if (!bootstrapped.specifier) {
    // Declared in main.ts itself, or a parameter (`create(module)`): main.ts does not tell which then.
    const local = new TypeScriptFile(tree, main).moduleClassNames().includes(bootstrapped.name);
    return local ? { path: main, className: bootstrapped.name } : fallback;
  }
  if (!bootstrapped.specifier.startsWith('.')) return fallback;
  const base = posix.join(options.sourceRoot, bootstrapped.specifier).replace(/\.[cm]?js$/, '');
  const path = [`${base}.ts`, `${base}/index.ts`].find((candidate) => tree.exists(candidate));
  return path ? { path, className: bootstrapped.name } : fallback;
}

function addModuleImport(options: NestAddContext): Rule {
  return (tree: Tree, context: SchematicContext) => {
    const root = rootModule(tree, options);
    const module = new TypeScriptFile(tree, root.path, `Cannot find ${root.path}. Pass --sourceRoot (and --module) to point at the root module.`);
    if (module.importedNames().has('ZeroTrustModule')) {
      context.logger.info(`${root.path} already imports ZeroTrustModule: left as it is.`);
      return;
    }
    // An app made by CLI 12 is ESM with `.js` import suffixes: follow the module's own imports, else package.json's "type".
    const esm = module.relativeImportsUseJs() ?? isEsmPackage(tree, options.root);
    const relative = posix.relative(posix.dirname(root.path), options.configPath).replace(/\.ts$/, esm ? '.js' : '');
    const configModule = relative.startsWith('.') ? relative : `./${relative}`;
    const before = tree.readText(root.path);
    try {
      module.addModuleImport(ENTRY, { first: true, className: root.className });
    } catch (error) {
      // Refused: the tree is put back and the whole schematic stops, so nothing at all is written.
      tree.overwrite(root.path, before);
      throw new SchematicsException(
        [
          (error as Error).message,
          `Nothing was written: add ZeroTrustModule to the root module by hand, first in its @Module imports:`,
          `  import { ZeroTrustModule } from 'nestjs-zero-trust';`,
          `  import { zeroTrustOptions } from '${configModule}';`,
          `  imports: [${ENTRY}, ...]`,
          `then run \`nest add nestjs-zero-trust\` again: it sees ZeroTrustModule imported and writes the rest (${options.configPath}, .env.example, package.json).`,
        ].join('\n'),
      );
    }
    module.addNamedImport('ZeroTrustModule', 'nestjs-zero-trust');
    module.addNamedImport('zeroTrustOptions', configModule);
  };
}

function configuration(options: NestAddContext): Source {
  return apply(url('./files/config'), [template({ authorization: options.authorization, prefix: options.prefix }), move(options.sourceRoot)]);
}

/** `.env.example`: created, or given the ZT_* block when it has none of its variables yet. */
function appendEnvironment(options: NestAddContext): Rule {
  return (tree: Tree) =>
    mergeWith(
      apply(url('./files/env'), [
        template({ authorization: options.authorization, configPath: options.configPath, prefix: options.prefix, dot: '.' }),
        move(options.root),
        forEach((entry) => {
          const current = tree.read(entry.path);
          if (!current) return entry;
          const ours = variablesOf(entry.content.toString('utf8'));
          const theirs = variablesOf(current.toString('utf8'));
          if ([...ours].some((name) => theirs.has(name))) return null;
          const separator = current.length && current[current.length - 1] !== 0x0a ? '\n\n' : '\n';
          return { path: entry.path, content: Buffer.concat([current, Buffer.from(separator), entry.content]) };
        }),
      ]),
      MergeStrategy.Overwrite,
    );
}

/** The names a dotenv file assigns (`NAME=` at the start of a line). */
function variablesOf(dotenv: string): Set<string> {
  const names = new Set<string>();
  for (const line of dotenv.split('\n')) {
    const equals = line.indexOf('=');
    const name = line.slice(0, equals).trim();
    if (equals > 0 && !name.startsWith('#')) names.add(name);
  }
  return names;
}

/** Writes the source's files that the app does not have yet: its own configuration wins over ours. */
function createMissing(source: Source): Rule {
  return (tree: Tree) => mergeWith(apply(source, [forEach((entry) => (tree.exists(entry.path) ? null : entry))]));
}

/** The major version of Nest the app is on, from its @nestjs/core (or @nestjs/common) range. */
function nestMajorOf(manifest: JsonFile): number | undefined {
  for (const name of ['@nestjs/core', '@nestjs/common']) {
    const range = manifest.get(['dependencies', name]) ?? manifest.get(['devDependencies', name]);
    const major = typeof range === 'string' ? /(\d+)/.exec(range)?.[1] : undefined;
    if (major) return Number(major);
  }
  return undefined;
}

/**
 * For a Nest package, the part of our supported range that matches the app's Nest major: a Nest 11
 * app must get `@nestjs/passport@11` (CommonJS), not the newest release the range allows (12, ESM only).
 */
function rangeFor(name: string, nestMajor: number | undefined): string {
  const range = supportedRange(name);
  if (!name.startsWith('@nestjs/') || nestMajor === undefined) return range;
  const matching = range.split('||').map((part) => part.trim()).find((part) => new RegExp(`^[~^]?${nestMajor}\\b`).test(part));
  return matching ?? range;
}

function addDependencies(tree: Tree, path: string, context: SchematicContext): void {
  const manifest = new JsonFile(tree, path);
  const nestMajor = nestMajorOf(manifest);
  const added: string[] = [];
  for (const name of DEPENDENCIES) {
    if (manifest.get(['dependencies', name]) !== undefined || manifest.get(['devDependencies', name]) !== undefined) continue;
    manifest.set(['dependencies', name], rangeFor(name, nestMajor));
    added.push(name);
  }
  // Worded as the change, not as done: under --dry-run nothing is written, and the log must not say it was.
  if (added.length) context.logger.info(`Dependencies for ${path}: ${added.join(', ')}.`);
}

/** The app's package.json: in its folder, or (a monorepo) the nearest one above it. */
function packageJsonOf(tree: Tree, root: string): string {
  for (let dir = root; ; dir = posix.dirname(dir)) {
    const candidate = posix.join(dir, 'package.json');
    if (tree.exists(candidate)) return candidate;
    if (dir === '.' || dir === '/' || posix.dirname(dir) === dir) break;
  }
  return posix.join(root, 'package.json');
}

function isEsmPackage(tree: Tree, root: string): boolean {
  const path = packageJsonOf(tree, root);
  return tree.exists(path) && new JsonFile(tree, path).get(['type']) === 'module';
}

function explain(options: NestAddContext, done: { e2e: E2eExampleUpdate; keptConfiguration: boolean; webSockets: WebSocketAdapterUpdate }, context: SchematicContext): void {
  const e2e = posix.join(options.root, 'test/app.e2e-spec.ts');
  const lines = [
    `${ownManifest().name}: every route now needs a valid access token unless marked @Public().`,
    `Configure it in ${options.configPath} (issuer, audience, keys from ZT_* variables; see .env.example).`,
    'Without ZT_JWT_PRIVATE_KEY it runs on an ephemeral key in development and refuses to start in production.',
    options.authorization === 'strict'
      ? 'Authorization mode strict: the app refuses to start while a route declares no rule (@Authenticated(), @Scopes(), @OwnsResource() or @Public()).'
      : 'At the first boot it lists the routes that declare no authorization rule: give each @Authenticated(),\n@Scopes(), @OwnsResource() or @Public(), then set ZT_AUTHORIZATION=strict.',
  ];
  if (done.keptConfiguration && options.authorization === 'strict') {
    lines.push(`${options.configPath} was already there and is kept as it is: its own default mode applies; set ZT_AUTHORIZATION=strict in the environment.`);
  }
  if (done.e2e === 'updated') lines.push(`${e2e} sends a token minted with mintTestToken(app, { subject }) (from nestjs-zero-trust).`);
  if (done.e2e === 'unrecognised') lines.push(`${e2e}: routes need a token now; mint one with mintTestToken(app, { subject }) from nestjs-zero-trust.`);
  const main = posix.join(options.sourceRoot, 'main.ts');
  if (done.webSockets === 'updated') {
    lines.push(`${main} uses zeroTrustWebSocketAdapter: sockets present a token (Authorization header, or an \`authenticate\` first message); browsers' origins go in ZT_WS_ORIGINS.`);
  } else if (done.webSockets === 'kept' || done.webSockets === 'not-async') {
    lines.push(`${main} sets a WebSocket adapter left as it is: use \`await zeroTrustWebSocketAdapter(app, { library: 'ws', allowedOrigins: [...] })\` from nestjs-zero-trust, or sockets cannot present a token.`);
  }
  lines.push('Then see the posture of the app, graded, with a fix per finding: npm run build && npx nestjs-zero-trust doctor');
  context.logger.info(lines.join('\n'));
}

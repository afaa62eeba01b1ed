import type { Rule, SchematicContext, Source, Tree } from '@angular-devkit/schematics';
import { posix } from 'node:path';
import { JsonFile } from '../utils/json-file.js';
import { ownManifest, supportedRange } from '../utils/own-manifest.js';
import { apply, chain, forEach, MergeStrategy, mergeWith, move, nodePackageInstallTask, template, url } from '../utils/toolchain.js';
import { TypeScriptFile } from '../utils/typescript-file.js';
import type { NestAddOptions } from './nest-add.schema.js';

const CONFIG_FILE = 'zero-trust.config.ts';

/** This package and what it needs beside itself that an app made by `nest new` does not have. */
const DEPENDENCIES = ['nestjs-zero-trust', '@nestjs/passport', '@nestjs/throttler', 'passport', 'class-validator', 'class-transformer'];

interface NestAddContext {
  sourceRoot: string;
  modulePath: string;
  configPath: string;
  /** The app's folder: where `.env.example` goes. */
  root: string;
  authorization: 'report' | 'strict';
  skipInstall: boolean;
}

/**
 * `nest add nestjs-zero-trust`: wires ZeroTrustModule into an existing app. Everything it writes is
 * checked first, so running it twice changes nothing. Existing apps start in `report` authorization
 * mode: the first boot lists the routes that need a rule instead of refusing to start.
 */
export function nestAdd(raw: NestAddOptions): Rule {
  const options = normalize(raw);
  return chain([
    addModuleImport(options),
    createMissing(configuration(options)),
    appendEnvironment(options),
    (tree: Tree, context: SchematicContext) => {
      const manifest = packageJsonOf(tree, options.root);
      addDependencies(tree, manifest, context);
      if (!options.skipInstall) context.addTask(nodePackageInstallTask({ workingDirectory: posix.dirname(manifest) }));
    },
    explain(options),
  ]);
}

function normalize(options: NestAddOptions): NestAddContext {
  const sourceRoot = posix.normalize(options.sourceRoot || 'src').replace(/\/+$/, '') || '.';
  return {
    sourceRoot,
    modulePath: posix.join(sourceRoot, options.module || 'app.module.ts'),
    configPath: posix.join(sourceRoot, CONFIG_FILE),
    root: posix.dirname(sourceRoot),
    authorization: options.authorization === 'strict' ? 'strict' : 'report',
    skipInstall: options.skipInstall === true,
  };
}

function addModuleImport(options: NestAddContext): Rule {
  return (tree: Tree, context: SchematicContext) => {
    const module = new TypeScriptFile(tree, options.modulePath, `Cannot find ${options.modulePath}. Pass --sourceRoot (and --module) to point at the root module.`);
    if (module.importedNames().has('ZeroTrustModule')) {
      context.logger.info(`${options.modulePath} already imports ZeroTrustModule: left as it is.`);
      return;
    }
    // An app made by CLI 12 is ESM with `.js` import suffixes: follow the module's own imports, else package.json's "type".
    const esm = module.relativeImportsUseJs() ?? isEsmPackage(tree, options.root);
    const configModule = `./${posix.relative(posix.dirname(options.modulePath), options.configPath).replace(/\.ts$/, esm ? '.js' : '')}`;
    module.addNamedImport('ZeroTrustModule', 'nestjs-zero-trust');
    module.addNamedImport('zeroTrustOptions', configModule);
    module.addModuleImport('ZeroTrustModule.forRootAsync({ useFactory: () => zeroTrustOptions() })', { first: true });
  };
}

function configuration(options: NestAddContext): Source {
  return apply(url('./files/config'), [template({ authorization: options.authorization }), move(options.sourceRoot)]);
}

/** `.env.example`: created, or given the ZT_* block when it has none of its variables yet. */
function appendEnvironment(options: NestAddContext): Rule {
  return (tree: Tree) =>
    mergeWith(
      apply(url('./files/env'), [
        template({ authorization: options.authorization, configPath: options.configPath, dot: '.' }),
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
  if (added.length) context.logger.info(`Added to ${path}: ${added.join(', ')}`);
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

function explain(options: NestAddContext): Rule {
  return (_tree: Tree, context: SchematicContext) => {
    context.logger.info(
      [
        `${ownManifest().name}: every route now needs a valid access token unless marked @Public().`,
        `Configure it in ${options.configPath} (issuer, audience, keys from ZT_* variables; see .env.example).`,
        'Without ZT_JWT_PRIVATE_KEY it runs on an ephemeral key in development and refuses to start in production.',
        'At the first boot it lists the routes that declare no authorization rule: give each @Authenticated(),',
        '@Scopes(), @OwnsResource() or @Public(), then set ZT_AUTHORIZATION=strict.',
      ].join('\n'),
    );
  };
}

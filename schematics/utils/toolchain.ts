import type * as Devkit from '@angular-devkit/schematics';
import type * as DevkitTasks from '@angular-devkit/schematics/tasks';
import type * as JsoncParser from 'jsonc-parser';
import { createRequire } from 'node:module';
import type * as TypeScript from 'typescript';

/*
 * The schematics toolchain is not a dependency of this package: an app that only serves requests must
 * not install the Angular devkit (with rxjs, ajv, ora…) and TypeScript to do so. Schematics only run
 * inside a schematics engine (`nest add`, `nest new -c`, `nest g -c`), and the Nest CLI that starts that
 * engine brings the devkit, jsonc-parser and TypeScript with it. So each is loaded at run time, from
 * the first of:
 *  - this package's own location: the usual case, a project with @nestjs/cli as a devDependency, its
 *    devkit hoisted beside us (and this repository's own tests);
 *  - the running engine's location: `process.argv[1]` is the schematics-cli binary the Nest CLI
 *    spawned, whose own dependencies these are (a global `nest` with a global nestjs-zero-trust, or a
 *    project without a local CLI);
 *  - the project in the working directory.
 * They are devDependencies here, and deliberately not peers: npm marks a peer that the app also has as
 * a devDependency (through @nestjs/cli) "devOptional" and keeps it in `npm install --omit=dev`, which
 * would put the whole toolchain back into production installs. Only types are imported statically.
 */

type Origin = 'package' | 'engine' | 'project';

const origins: Record<Origin, () => string | undefined> = {
  package: () => import.meta.url,
  engine: () => process.argv[1],
  project: () => `${process.cwd()}/`,
};

function load<T>(name: string, order: Origin[]): T {
  for (const origin of order) {
    const from = origins[origin]();
    if (!from) continue;
    try {
      return createRequire(from)(name) as T;
    } catch (error) {
      // Not installed there: try the next place. Anything else (a broken install) is worth seeing.
      if ((error as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw error;
    }
  }
  throw new Error(
    `nestjs-zero-trust: its schematics need ${name}, which the Nest CLI brings. Run them through the CLI ` +
      `(\`nest add\`, \`nest g -c nestjs-zero-trust …\`) in a project with @nestjs/cli installed, or install ${name}.`,
  );
}

const devkit = load<typeof Devkit>('@angular-devkit/schematics', ['package', 'engine', 'project']);

export const { apply, chain, filter, forEach, MergeStrategy, mergeWith, move, noop, SchematicsException, strings, template, url } = devkit;

/** Loaded with the first rule that schedules an install. */
export function nodePackageInstallTask(options: { workingDirectory: string }): DevkitTasks.NodePackageInstallTask {
  const tasks = load<typeof DevkitTasks>('@angular-devkit/schematics/tasks', ['package', 'engine', 'project']);
  return new tasks.NodePackageInstallTask(options);
}

let jsonc: typeof JsoncParser | undefined;
/** jsonc-parser: edits JSON files at exact positions, keeping their formatting. */
export function jsoncParser(): typeof JsoncParser {
  jsonc ??= load<typeof JsoncParser>('jsonc-parser', ['package', 'engine', 'project']);
  return jsonc;
}

let ts: typeof TypeScript | undefined;
/** The project's own TypeScript (every Nest project has it), else the one beside us. */
export function typescript(): typeof TypeScript {
  ts ??= load<typeof TypeScript>('typescript', ['project', 'package', 'engine']);
  return ts;
}

import { apply, chain, MergeStrategy, mergeWith, move, type Rule, SchematicsException, type Tree, url } from '@angular-devkit/schematics';
import { posix } from 'node:path';
import { ownManifest } from '../utils/package-json.js';

export interface ApplicationOptions {
  name: string;
  directory?: string;
  packageManager?: string;
  skipTests?: boolean;
  description?: string;
  author?: string;
}

/** Pins the project to the versions this package is built and tested with. */
function projectManifest(options: ApplicationOptions, name: string): string {
  const own = ownManifest() as ReturnType<typeof ownManifest> & { devDependencies: Record<string, string> };
  const dev = own.devDependencies;
  const pick = (names: string[]) => Object.fromEntries(names.map((n) => [n, dev[n] ?? (own as unknown as { dependencies: Record<string, string> }).dependencies?.[n]]));
  return `${JSON.stringify(
    {
      name,
      version: '0.0.1',
      description: options.description ?? 'A zero-trust API made with nestjs-zero-trust',
      author: options.author ?? '',
      private: true,
      license: 'UNLICENSED',
      type: 'module',
      scripts: {
        build: 'rm -rf dist && tsc -p tsconfig.build.json',
        start: 'npm run build && node dist/main.js',
        'start:prod': 'node dist/main.js',
        test: 'vitest run',
      },
      dependencies: {
        [own.name]: `^${own.version}`,
        ...pick([
          '@electric-sql/pglite', '@nestjs/common', '@nestjs/core', '@nestjs/passport', '@nestjs/platform-express', '@nestjs/platform-fastify',
          '@nestjs/throttler', '@nestjs/typeorm', '@node-rs/argon2', 'class-transformer', 'class-validator', 'passport', 'pg', 'reflect-metadata', 'rxjs', 'typeorm',
        ]),
      },
      devDependencies: pick(['@nestjs/cli', '@swc/core', '@types/node', '@types/supertest', 'supertest', 'typescript', 'unplugin-swc', 'vitest']),
    },
    null,
    2,
  )}\n`;
}

/**
 * `nest new my-api -c nestjs-zero-trust`: a complete zero-trust API. Its `src/` is the package's own
 * sample (users, sessions and MFA, an owned resource, least-privilege roles with row-level security,
 * the audit trail), so the generated project is exactly what this package tests.
 */
export function application(options: ApplicationOptions): Rule {
  if (!options.name) throw new SchematicsException('A project name is required: nest new <name> -c nestjs-zero-trust');
  const name = String(options.name).toLowerCase().replace(/[^a-z0-9-~._]+/g, '-');
  const directory = options.directory ?? name;
  return chain([
    mergeWith(apply(url('./files'), [move(directory)]), MergeStrategy.Overwrite),
    (tree: Tree) => {
      tree.create(posix.join(directory, 'package.json'), projectManifest(options, name));
      if (options.skipTests) {
        tree.getDir(posix.join(directory, 'test')).visit((path) => tree.delete(path));
      }
      // npm leaves dotfiles such as .gitignore out of packages: they travel without the dot.
      for (const [from, to] of [['gitignore', '.gitignore'], ['env.example', '.env.example']]) tree.rename(posix.join(directory, from), posix.join(directory, to));
      const readme = posix.join(directory, 'README.md');
      tree.overwrite(readme, tree.read(readme)!.toString('utf8').replaceAll('__PROJECT__', name));
    },
  ]);
}

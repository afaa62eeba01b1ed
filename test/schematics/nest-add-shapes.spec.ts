import type { UnitTestTree } from '@angular-devkit/schematics/testing/index.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { nestNewApp, runner } from './support.js';
import { typecheck } from './typecheck.js';

const ENTRY = 'ZeroTrustModule.forRootAsync({ useFactory: () => zeroTrustOptions() })';
const HEADER = "import { Module } from '@nestjs/common';\nimport { AppController } from './app.controller.js';\nimport { AppService } from './app.service.js';\n";
/** A module of the app's own that the shapes import beside ZeroTrustModule. */
const CONFIG_MODULE = "import { Module } from '@nestjs/common';\n\n@Module({})\nexport class ConfigModule {\n  static forRootAsync(options: { useFactory: () => object }) {\n    return { module: ConfigModule, providers: [{ provide: 'CONFIG', useFactory: options.useFactory }] };\n  }\n}\n";

interface Shape {
  name: string;
  /** src/app.module.ts (or the file main.ts points to), before. */
  module: string;
  files?: Record<string, string>;
  /** Edited: where the entry must land (a substring of the result), in which file. */
  edited?: { file?: string; contains: string[]; untouched?: string[] };
  /** Refused: what the message must say. */
  refused?: RegExp;
}

/**
 * Every shape of root module seen in the wild is either edited correctly or refused with the lines to
 * add by hand. The failure this guards: a second `imports` key (or an overridden list) compiles to an
 * app whose ZeroTrustModule is dropped, and `GET /` answers 200 with no token.
 */
const shapes: Shape[] = [
  {
    name: 'imports held in a const array of the file',
    module: `${HEADER}import { ConfigModule } from './config.module.js';\n\nconst IMPORTS = [ConfigModule];\n\n@Module({\n  imports: IMPORTS,\n  controllers: [AppController],\n  providers: [AppService],\n})\nexport class AppModule {}\n`,
    edited: { contains: [`const IMPORTS = [${ENTRY}, ConfigModule];`, '  imports: IMPORTS,\n'] },
  },
  {
    name: 'shorthand `imports` naming a const',
    module: `${HEADER}import { ConfigModule } from './config.module.js';\n\nconst imports = [ConfigModule];\n\n@Module({ imports, controllers: [AppController], providers: [AppService] })\nexport class AppModule {}\n`,
    edited: { contains: [`const imports = [${ENTRY}, ConfigModule];`, '@Module({ imports, controllers'] },
  },
  {
    name: 'spreads inside the imports array',
    module: `${HEADER}import { ConfigModule } from './config.module.js';\n\nconst shared = [ConfigModule];\n\n@Module({ imports: [...shared], controllers: [AppController], providers: [AppService] })\nexport class AppModule {}\n`,
    edited: { contains: [`imports: [${ENTRY}, ...shared]`] },
  },
  {
    name: 'forRootAsync siblings, one a line',
    module: `${HEADER}import { ConfigModule } from './config.module.js';\n\n@Module({\n  imports: [\n    ConfigModule.forRootAsync({\n      useFactory: () => ({ a: 1 }),\n    }),\n  ],\n  controllers: [AppController],\n  providers: [AppService],\n})\nexport class AppModule {}\n`,
    edited: { contains: [`  imports: [\n    ${ENTRY},\n    ConfigModule.forRootAsync({`] },
  },
  {
    name: 'several modules in one file: the one main.ts bootstraps, not the first',
    module: `${HEADER}\n@Module({ providers: [AppService], exports: [AppService] })\nexport class SharedModule {}\n\n@Module({ imports: [SharedModule], controllers: [AppController] })\nexport class AppModule {}\n`,
    edited: { contains: [`@Module({ imports: [${ENTRY}, SharedModule], controllers: [AppController] })\nexport class AppModule`], untouched: ['@Module({ providers: [AppService], exports: [AppService] })\nexport class SharedModule'] },
  },
  {
    name: 'an exports-only module',
    module: `${HEADER}\n@Module({ controllers: [AppController], providers: [AppService], exports: [AppService] })\nexport class AppModule {}\n`,
    edited: { contains: [`@Module({\n  imports: [${ENTRY}], controllers: [AppController]`] },
  },
  {
    name: '@Module() with no argument',
    module: `${HEADER}\n@Module()\nexport class AppModule {}\n`,
    edited: { contains: [`@Module({ imports: [${ENTRY}] })`] },
  },
  {
    name: 'the decorator imported under another name',
    module: "import { Module as NestModule } from '@nestjs/common';\nimport { AppController } from './app.controller.js';\n\n@NestModule({ controllers: [AppController] })\nexport class AppModule {}\n",
    edited: { contains: [`@NestModule({\n  imports: [${ENTRY}], controllers: [AppController] })`] },
  },
  {
    name: 'a root module in another file, named by main.ts',
    module: "import { NestFactory } from '@nestjs/core';\nimport { RootModule } from './core/root.module.js';\n\nasync function bootstrap() {\n  const app = await NestFactory.create(RootModule);\n  await app.listen(process.env.PORT ?? 3000);\n}\nvoid bootstrap();\n",
    files: { '/src/core/root.module.ts': "import { Module } from '@nestjs/common';\nimport { AppController } from '../app.controller.js';\n\n@Module({ controllers: [AppController] })\nexport class RootModule {}\n" },
    edited: { file: '/src/core/root.module.ts', contains: ["import { zeroTrustOptions } from '../zero-trust.config.js';", `imports: [${ENTRY}]`] },
  },
  {
    name: 'imports from a variable of another file',
    module: `${HEADER}import { IMPORTS } from './imports.js';\n\n@Module({ imports: IMPORTS, controllers: [AppController] })\nexport class AppModule {}\n`,
    files: { '/src/imports.ts': 'export const IMPORTS = [];\n' },
    refused: /takes its imports from `IMPORTS`, which is not a `const` declared in this file/,
  },
  {
    name: 'imports from a `let` (reassignable before the decorator reads it)',
    module: `${HEADER}\nlet imports = [];\nimports = [];\n\n@Module({ imports, controllers: [AppController] })\nexport class AppModule {}\n`,
    refused: /takes its imports from `imports`, which is not a `const`/,
  },
  {
    name: 'metadata spread from a shared object, without its own imports',
    module: `${HEADER}import { ConfigModule } from './config.module.js';\n\nconst base = { imports: [ConfigModule] };\n\n@Module({ ...base, controllers: [AppController] })\nexport class AppModule {}\n`,
    refused: /spreads base, which may hold its imports/,
  },
  {
    name: 'a spread after the imports key',
    module: `${HEADER}import { ConfigModule } from './config.module.js';\n\nconst base = { imports: [ConfigModule] };\n\n@Module({ imports: [], ...base })\nexport class AppModule {}\n`,
    refused: /spreads an object after its `imports`/,
  },
  {
    name: 'metadata held in a variable',
    module: `${HEADER}\nconst metadata = { controllers: [AppController] };\n\n@Module(metadata)\nexport class AppModule {}\n`,
    refused: /takes `metadata`, not an object literal/,
  },
  {
    name: 'a computed imports list',
    module: `${HEADER}import { ConfigModule } from './config.module.js';\n\n@Module({ imports: process.env.X ? [ConfigModule] : [], controllers: [AppController] })\nexport class AppModule {}\n`,
    refused: /computes its imports/,
  },
  {
    name: 'imports twice already',
    module: `${HEADER}import { ConfigModule } from './config.module.js';\n\n@Module({ imports: [ConfigModule], controllers: [AppController], imports: [] })\nexport class AppModule {}\n`,
    refused: /has `imports` twice/,
  },
  {
    name: 'several module classes, and a main.ts that does not say which',
    module: `${HEADER}\n@Module({})\nexport class OneModule {}\n\n@Module({})\nexport class TwoModule {}\n`,
    files: { '/src/main.ts': "import { NestFactory } from '@nestjs/core';\nimport { OneModule } from './app.module.js';\nexport const create = (m: typeof OneModule) => NestFactory.create(m);\n" },
    refused: /several @Module classes \(OneModule, TwoModule\)/,
  },
];

async function appWith(shape: Shape): Promise<UnitTestTree> {
  const tree = await nestNewApp();
  tree.create('/src/config.module.ts', CONFIG_MODULE);
  const isMain = shape.module.includes('NestFactory');
  tree.overwrite(isMain ? '/src/main.ts' : '/src/app.module.ts', shape.module);
  for (const [path, content] of Object.entries(shape.files ?? {})) {
    if (tree.exists(path)) tree.overwrite(path, content);
    else tree.create(path, content);
  }
  return tree;
}

describe('nest-add on every shape of root module: edited correctly or refused with what to add by hand', () => {
  const results = new Map<string, UnitTestTree>();

  beforeAll(async () => {
    for (const shape of shapes.filter((candidate) => candidate.edited)) {
      results.set(shape.name, await runner.runSchematic('nest-add', { sourceRoot: 'src', skipInstall: true }, await appWith(shape)));
    }
  });

  it.each(shapes.filter((shape) => shape.edited).map((shape) => [shape.name, shape] as const))('edits: %s', (_name, shape) => {
    const tree = results.get(shape.name)!;
    const content = tree.readContent(shape.edited!.file ?? '/src/app.module.ts');
    for (const expected of shape.edited!.contains) expect(content).toContain(expected);
    for (const expected of shape.edited!.untouched ?? []) expect(content).toContain(expected);
    expect(content.split(ENTRY).length - 1).toBe(1);
    expect(content).toContain("import { ZeroTrustModule } from 'nestjs-zero-trust';");
    expect(tree.exists('/src/zero-trust.config.ts')).toBe(true);
  });

  it.each(shapes.filter((shape) => shape.refused).map((shape) => [shape.name, shape] as const))('refuses: %s, writing nothing', async (_name, shape) => {
    const tree = await appWith(shape);
    const before = new Map(tree.files.map((file) => [file, tree.readContent(file)]));
    const error = await runner.runSchematic('nest-add', { sourceRoot: 'src', skipInstall: true }, tree).then(
      () => undefined,
      (caught: Error) => caught,
    );
    expect(error?.message).toMatch(shape.refused!);
    // The message says exactly what to add, and that nothing was written.
    expect(error?.message).toContain('Nothing was written: add ZeroTrustModule to the root module by hand');
    expect(error?.message).toContain("import { ZeroTrustModule } from 'nestjs-zero-trust';");
    expect(error?.message).toContain(`imports: [${ENTRY}, ...]`);
    expect(new Map(tree.files.map((file) => [file, tree.readContent(file)]))).toEqual(before);
  });

  it('after the hand edit the message asks for, running it again writes the rest', async () => {
    const shape = shapes.find((candidate) => candidate.name === 'imports from a variable of another file')!;
    const tree = await appWith(shape);
    tree.overwrite('/src/imports.ts', `import { ZeroTrustModule } from 'nestjs-zero-trust';\nimport { zeroTrustOptions } from './zero-trust.config.js';\n\nexport const IMPORTS = [${ENTRY}];\n`);
    tree.overwrite('/src/app.module.ts', `import { ZeroTrustModule } from 'nestjs-zero-trust';\n${shape.module}`);
    const result = await runner.runSchematic('nest-add', { sourceRoot: 'src', skipInstall: true }, tree);
    expect(result.exists('/src/zero-trust.config.ts')).toBe(true);
    expect(JSON.parse(result.readContent('/package.json')).dependencies['nestjs-zero-trust']).toBeDefined();
  });

  it('every edited shape type-checks against the library (a duplicate key or a misplaced entry would not)', () => {
    // One program for all of them: each shape's edited module sits in the app as a file of its own.
    const [first, ...rest] = shapes.filter((shape) => shape.edited);
    const tree = results.get(first.name)!;
    rest.forEach((shape, index) => {
      const file = shape.edited!.file ?? '/src/app.module.ts';
      const content = results.get(shape.name)!.readContent(file);
      const target = file.replace(/\.ts$/, `.shape-${index}.ts`);
      if (tree.exists(target)) tree.overwrite(target, content);
      else tree.create(target, content);
    });
    expect(typecheck(tree).join('\n')).toBe('');
  }, 120_000);
});

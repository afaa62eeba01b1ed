import type { UnitTestTree } from '@angular-devkit/schematics/testing/index.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { nestNewApp, runner } from './support.js';
import { typecheck } from './typecheck.js';

const IMPORTS = "\nimport { ZeroTrustModule } from 'nestjs-zero-trust';\nimport { zeroTrustOptions } from './zero-trust.config.js';";
const ENTRY = 'ZeroTrustModule.forRootAsync({ useFactory: () => zeroTrustOptions() })';

describe('nest-add on an app made by @nestjs/schematics (what `nest new` generates)', () => {
  let added: UnitTestTree;
  const original: Record<string, string> = {};

  beforeAll(async () => {
    const app = await nestNewApp();
    // runSchematic edits the tree it is given: keep the originals to compare with.
    for (const file of ['/src/app.module.ts', '/package.json']) original[file] = app.readContent(file);
    added = await runner.runSchematic('nest-add', { sourceRoot: 'src', skipInstall: true }, app);
  });

  it("imports ZeroTrustModule into the root module with the ESM app's .js suffixes, keeping the rest as it was", () => {
    const after = added.readContent('/src/app.module.ts');
    expect(after).toContain(IMPORTS);
    expect(after).toMatch(/imports: \[ZeroTrustModule\.forRootAsync\(\{ useFactory: \(\) => zeroTrustOptions\(\) \}\)\]/);
    // Nothing else changed: removing the inserted text gives the original back.
    expect(after.replace(IMPORTS, '').replace(ENTRY, '')).toBe(original['/src/app.module.ts']);
  });

  it('writes the configuration from its template: report mode, the store option, no secret', () => {
    const config = added.readContent('/src/zero-trust.config.ts');
    expect(config).toContain("?? 'report'");
    expect(config).toContain('env.ZT_JWT_PRIVATE_KEY');
    expect(config).toContain('store: env.REDIS_URL || undefined');
    expect(config).not.toMatch(/<%|%>|\bredis:|Ms\b/);
  });

  it('writes .env.example naming every variable the configuration reads, with no value for the key', () => {
    const env = added.readContent('/.env.example');
    expect(env).toMatch(/^ZT_JWT_PRIVATE_KEY=$/m);
    expect(env).toContain('openssl genpkey');
    const read = [...added.readContent('/src/zero-trust.config.ts').matchAll(/env\.([A-Z_]+)/g)].map((match) => match[1]);
    for (const name of new Set(read)) expect(env, name).toMatch(new RegExp(`^${name}=`, 'm'));
  });

  it('adds the dependencies to package.json, keeping its formatting, and schedules no install with --skip-install', () => {
    const before = original['/package.json'];
    const after = added.readContent('/package.json');
    const manifest = JSON.parse(after);
    for (const name of ['nestjs-zero-trust', '@nestjs/passport', '@nestjs/throttler', 'passport', 'class-validator', 'class-transformer']) {
      expect(manifest.dependencies[name], name).toBeDefined();
    }
    // Same lines as before, plus the new ones: no reformatting.
    const beforeLines = before.split('\n').map((line) => line.replace(/,$/, ''));
    const afterLines = new Set(after.split('\n').map((line) => line.replace(/,$/, '')));
    expect(beforeLines.filter((line) => !afterLines.has(line))).toEqual([]);
    // In alphabetical place, as npm keeps them.
    const names = Object.keys(manifest.dependencies);
    expect(names).toEqual([...names].sort());
    expect(runner.tasks).toEqual([]);
  });

  it('asks for the Nest packages of the app\'s own Nest major: a Nest 11 app gets @nestjs/passport 11 (CommonJS), not 12', async () => {
    const app = await nestNewApp();
    const manifest = JSON.parse(app.readContent('/package.json'));
    for (const name of Object.keys(manifest.dependencies)) if (name.startsWith('@nestjs/')) manifest.dependencies[name] = '^11.0.1';
    app.overwrite('/package.json', `${JSON.stringify(manifest, null, 2)}\n`);
    const nest11 = JSON.parse((await runner.runSchematic('nest-add', { sourceRoot: 'src', skipInstall: true }, app)).readContent('/package.json'));
    expect(nest11.dependencies['@nestjs/passport']).toBe('^11.0.0');
    // The app's Nest 12 gets 12; packages outside @nestjs keep the whole range.
    const nest12 = JSON.parse(added.readContent('/package.json'));
    expect(nest12.dependencies['@nestjs/passport']).toBe('^12.0.0');
    expect(nest11.dependencies['class-validator']).toBe(nest12.dependencies['class-validator']);
  });

  it('schedules the install without --skip-install', async () => {
    const fresh = await nestNewApp();
    await runner.runSchematic('nest-add', { sourceRoot: 'src' }, fresh);
    expect(runner.tasks.map((task) => task.name)).toContain('node-package');
  });

  it('changes nothing when run twice', async () => {
    const again = await runner.runSchematic('nest-add', { sourceRoot: 'src', skipInstall: true }, added);
    expect(again.files.sort()).toEqual(added.files.sort());
    for (const file of added.files) expect(again.readContent(file), file).toBe(added.readContent(file));
  });

  it('starts in strict mode with --authorization strict', async () => {
    const result = await runner.runSchematic('nest-add', { skipInstall: true, authorization: 'strict' }, await nestNewApp());
    expect(result.readContent('/src/zero-trust.config.ts')).toContain("?? 'strict'");
    expect(result.readContent('/.env.example')).toMatch(/^ZT_AUTHORIZATION=strict$/m);
  });

  it('follows a CommonJS app without suffixes and a module without imports', async () => {
    const tree = await nestNewApp();
    tree.overwrite(
      '/src/app.module.ts',
      "import { Module } from '@nestjs/common';\nimport { AppController } from './app.controller';\n\n@Module({\n  controllers: [AppController],\n})\nexport class AppModule {}\n",
    );
    const result = await runner.runSchematic('nest-add', { skipInstall: true }, tree);
    const content = result.readContent('/src/app.module.ts');
    expect(content).toContain("import { zeroTrustOptions } from './zero-trust.config';");
    expect(content).toContain(`@Module({\n  imports: [${ENTRY}],\n  controllers: [AppController],`);
  });

  it('puts ZeroTrustModule first in a multi-line imports list, in its indentation', async () => {
    const tree = await nestNewApp();
    tree.overwrite(
      '/src/app.module.ts',
      "import { Module } from '@nestjs/common';\nimport { ConfigModule } from './config.module.js';\n\n@Module({\n    imports: [\n        ConfigModule,\n    ],\n})\nexport class AppModule {}\n",
    );
    const result = await runner.runSchematic('nest-add', { skipInstall: true }, tree);
    expect(result.readContent('/src/app.module.ts')).toContain(`imports: [\n        ${ENTRY},\n        ConfigModule,\n    ],`);
  });

  it("keeps an app's own zero-trust.config.ts and appends to its own .env.example", async () => {
    const tree = await nestNewApp();
    tree.create('/src/zero-trust.config.ts', '// mine\n');
    tree.create('/.env.example', 'PORT=3000');
    const result = await runner.runSchematic('nest-add', { skipInstall: true }, tree);
    expect(result.readContent('/src/zero-trust.config.ts')).toBe('// mine\n');
    const env = result.readContent('/.env.example');
    expect(env.startsWith('PORT=3000\n\n# nestjs-zero-trust')).toBe(true);
    expect(env).toMatch(/^ZT_ISSUER=/m);
  });

  it('leaves the app type-checking against the library, configuration included', () => {
    expect(typecheck(added)).toEqual([]);
  }, 120_000);

  it('says what to do when the root module is not where it looks', async () => {
    const tree = await nestNewApp();
    await expect(runner.runSchematic('nest-add', { sourceRoot: 'lib', skipInstall: true }, tree)).rejects.toThrow(/Cannot find lib\/app\.module\.ts\. Pass --sourceRoot/);
  });

  it("teaches the app's e2e example to send a token minted with mintTestToken (its GET / would get 401 otherwise)", () => {
    const spec = added.readContent('/test/app.e2e-spec.ts');
    expect(spec).toContain("import { mintTestToken } from 'nestjs-zero-trust';");
    expect(spec).toMatch(/let app: INestApplication<App>;\n.*\n  let token: string;/);
    expect(spec).toContain("await app.init();\n    token = await mintTestToken(app, { subject: 'e2e-user' });");
    expect(spec).toContain(".get('/').set('Authorization', `Bearer ${token}`)");
  });

  it('leaves an e2e file it does not recognise as it is, and says what to add', async () => {
    const tree = await nestNewApp();
    tree.overwrite('/test/app.e2e-spec.ts', "it('works', () => expect(1).toBe(1));\n");
    const logs: string[] = [];
    const subscription = runner.logger.subscribe((entry) => logs.push(entry.message));
    const result = await runner.runSchematic('nest-add', { skipInstall: true }, tree);
    subscription.unsubscribe();
    expect(result.readContent('/test/app.e2e-spec.ts')).toBe("it('works', () => expect(1).toBe(1));\n");
    expect(logs.join('\n')).toContain('test/app.e2e-spec.ts: routes need a token now; mint one with mintTestToken(app, { subject })');
  });

  it('gives the store a key prefix of its own (the package name), so apps sharing a Redis do not share counters', () => {
    const config = added.readContent('/src/zero-trust.config.ts');
    expect(config).toContain("storeKeyPrefix: env.ZT_REDIS_PREFIX ?? 'demo:'");
    expect(added.readContent('/.env.example')).toMatch(/^ZT_REDIS_PREFIX=demo:$/m);
  });

  it('says nothing was added when it only describes the change (--dry-run writes nothing), and speaks of strict mode in strict mode', async () => {
    const logs: string[] = [];
    const subscription = runner.logger.subscribe((entry) => logs.push(entry.message));
    await runner.runSchematic('nest-add', { skipInstall: true, authorization: 'strict' }, await nestNewApp());
    subscription.unsubscribe();
    const text = logs.join('\n');
    expect(text).not.toMatch(/\bAdded to\b/);
    expect(text).toContain('Dependencies for package.json: nestjs-zero-trust');
    expect(text).toContain('Authorization mode strict');
    expect(text).not.toContain('then set ZT_AUTHORIZATION=strict');
    expect(text).toContain('npx nestjs-zero-trust doctor');
  });
});

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const nest = join(root, 'node_modules/.bin/nest');
const run = (command: string, args: string[], cwd: string) =>
  execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_ENV: 'development' } });

const outputs = new WeakMap<ChildProcess, () => string>();
const outputOf = (child: ChildProcess) => outputs.get(child)?.() ?? '';

/** Starts a Node process and resolves once it answers HTTP on `port`. */
async function start(args: string[], cwd: string, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, args, { cwd, env: { ...process.env, PORT: String(port), NODE_ENV: 'development' }, stdio: 'pipe' });
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  outputs.set(child, () => output);
  for (let attempt = 0; attempt < 100; attempt++) {
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}:\n${output}`);
    try {
      await fetch(`http://127.0.0.1:${port}/`);
      return child;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  child.kill();
  throw new Error(`no answer on port ${port}:\n${output}`);
}

async function expectDeniedWithHeaders(port: number) {
  const response = await fetch(`http://127.0.0.1:${port}/`);
  expect(response.status).toBe(401);
  expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
  expect(response.headers.get('strict-transport-security')).toContain('preload');
  expect(response.headers.get('x-powered-by')).toBeNull();
  expect(await response.json()).toEqual({ statusCode: 401, message: 'Unauthorized', error: 'Unauthorized' });
}

/**
 * The package as users get it: `npm pack`, installed from the tarball into a fresh app made by the
 * real `nest new` (an ESM app with `.js` import suffixes), built and booted; then required from
 * CommonJS in the same app.
 */
describe('packed package in a fresh `nest new` app', () => {
  const work = mkdtempSync(join(tmpdir(), 'zt-pack-'));
  const app = join(work, 'consumer');
  let tarball: string;
  let nestAddOutput = '';
  const children: ChildProcess[] = [];

  beforeAll(() => {
    const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], root)) as Array<{ filename: string; files: Array<{ path: string }> }>;
    tarball = join(work, packed[0].filename);
    const files = packed[0].files.map((f) => f.path);
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/index.d.ts');
    expect(files.some((f) => f.startsWith('lib/') || f.startsWith('test/') || f.startsWith('sample/'))).toBe(false);

    run(nest, ['new', 'consumer', '--skip-install', '--skip-git', '--package-manager', 'npm'], work);
    run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', tarball, '@nestjs/passport', '@nestjs/throttler', 'passport', 'class-validator', 'class-transformer'], app);
    // The real CLI: `nest add` runs our nest-add schematic (the package is already installed from the tarball).
    nestAddOutput = run(join(app, 'node_modules/.bin/nest'), ['add', 'nestjs-zero-trust', '--skip-install'], app);
    run(nest, ['build'], app);
  }, 600_000);

  it('nest add wires the module in and says what to do next', () => {
    expect(nestAddOutput).toContain('every route now needs a valid access token');
    const module = readFileSync(join(app, 'src/app.module.ts'), 'utf8');
    expect(module).toContain("import { zeroTrustOptions } from './zero-trust.config.js';");
    expect(module).toContain('ZeroTrustModule.forRootAsync({ useFactory: () => zeroTrustOptions() })');
    const manifest = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8'));
    expect(manifest.dependencies['nestjs-zero-trust']).toBeDefined();
    expect(readFileSync(join(app, '.env.example'), 'utf8')).toContain('ZT_JWT_PRIVATE_KEY=');
    // Running it again changes nothing.
    run(join(app, 'node_modules/.bin/nest'), ['add', 'nestjs-zero-trust', '--skip-install'], app);
    expect(readFileSync(join(app, 'src/app.module.ts'), 'utf8')).toBe(module);
  });

  afterAll(() => {
    for (const child of children) child.kill();
    rmSync(work, { recursive: true, force: true });
  });

  it('boots the ESM app deny-by-default, with security headers on the 401, listing the routes that need a rule', async () => {
    const port = 38000 + Math.floor(Math.random() * 1000);
    const child = await start(['dist/main.js'], app, port);
    children.push(child);
    await expectDeniedWithHeaders(port);
    expect(outputOf(child)).toMatch(/declare no authorization rule[\s\S]*GET \/ \(AppController\.getHello\)/);
    expect(outputOf(child)).toMatch(/EPHEMERAL ES256 key/);
  });

  it('boots from CommonJS through require(esm)', async () => {
    writeFileSync(
      join(app, 'cjs-app.cjs'),
      `require('reflect-metadata');
const { Controller, Get, Module } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { Authenticated, ZeroTrustModule, Public } = require('nestjs-zero-trust');
class HelloController { hello() { return 'hi'; } open() { return 'open'; } }
for (const name of ['hello', 'open']) {
  const descriptor = Object.getOwnPropertyDescriptor(HelloController.prototype, name);
  Get(name === 'open' ? 'open' : '')(HelloController.prototype, name, descriptor);
}
Public()(HelloController.prototype, 'open', Object.getOwnPropertyDescriptor(HelloController.prototype, 'open'));
Authenticated()(HelloController.prototype, 'hello', Object.getOwnPropertyDescriptor(HelloController.prototype, 'hello'));
Controller()(HelloController);
class AppModule {}
Module({ imports: [ZeroTrustModule.forRoot({ issuer: 'http://localhost', audience: 'cjs' })], controllers: [HelloController] })(AppModule);
NestFactory.create(AppModule, { logger: false }).then((app) => app.listen(process.env.PORT));
`,
    );
    const port = 39000 + Math.floor(Math.random() * 1000);
    children.push(await start(['cjs-app.cjs'], app, port));
    await expectDeniedWithHeaders(port);
    const open = await fetch(`http://127.0.0.1:${port}/open`);
    expect(open.status).toBe(200);
    expect(await open.text()).toBe('open');
  });

  it('nest new -c nestjs-zero-trust makes a project that installs, gets a resource from nest g, builds and passes its own tests', () => {
    run(join(app, 'node_modules/.bin/nest'), ['new', 'my-api', '-c', 'nestjs-zero-trust', '--skip-install', '--skip-git', '--package-manager', 'npm'], app);
    const project = join(app, 'my-api');
    // The package is not published from CI: the project takes it from the tarball under test.
    const manifestPath = join(project, 'package.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    manifest.dependencies['nestjs-zero-trust'] = `file:${tarball}`;
    writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
    run('npm', ['install', '--no-audit', '--no-fund'], project);
    const plain = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, '');
    const generated = plain(run(join(project, 'node_modules/.bin/nest'), ['g', '-c', 'nestjs-zero-trust', 'resource', 'task'], project));
    expect(generated).toMatch(/CREATE src\/tasks\/tasks\.controller\.ts/);
    run('npm', ['run', 'build'], project);
    const tests = plain(run('npm', ['test'], project));
    expect(tests).toMatch(/test\/security\.e2e-spec\.ts/);
    expect(tests).toMatch(/test\/tasks\.e2e-spec\.ts/);
    expect(tests).toMatch(/Tests\s+9 passed/);
  }, 600_000);
});

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packedTarball, root } from './built-package.js';
import { type LocalRegistry, startLocalRegistry } from './local-registry.js';

/** The repository's own tools stay off PATH: the commands find `nest` where a user's shell would. */
const PATH = (process.env.PATH ?? '').split(':').filter((entry) => !entry.includes('node_modules')).join(':');
const plain = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, '');

interface Run {
  output: string;
  code: number;
  seconds: number;
}

/**
 * Runs a README command exactly as written, through a shell, in `cwd`; `bin` folders are put before
 * PATH (a project's node_modules/.bin, as `npx` and npm scripts do). Resolves with the combined output.
 */
function sh(command: string, cwd: string, env: NodeJS.ProcessEnv, bin: string[] = []): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile('bash', ['-c', `${command} 2>&1`], { cwd, env: { ...env, PATH: [...bin, PATH].join(':') }, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (error, stdout) => {
      resolve({ output: plain(stdout), code: error ? ((error as { code?: number }).code ?? 1) : 0, seconds: (Date.now() - started) / 1000 });
    });
  });
}

function ok(run: Run, what: string): Run {
  if (run.code !== 0) throw new Error(`${what} exited with ${run.code}:\n${run.output.slice(-6000)}`);
  return run;
}

/** Starts `node dist/main.js` and resolves once it answers HTTP (or rejects with its output when it exits). */
async function boot(cwd: string, port: number, env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; output: () => string; seconds: number }> {
  const started = Date.now();
  const child = spawn(process.execPath, ['dist/main.js'], { cwd, env: { ...env, PORT: String(port) }, stdio: 'pipe' });
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  for (let attempt = 0; attempt < 150; attempt++) {
    if (child.exitCode !== null) throw Object.assign(new Error(`exited with ${child.exitCode}`), { output: plain(output) });
    const answer = await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined);
    if (answer) return { child, output: () => plain(output), seconds: (Date.now() - started) / 1000 };
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  child.kill();
  throw new Error(`no answer on port ${port}:\n${output}`);
}

/** npx keeps what `npx -p …` installed, by the list of packages: an earlier build's tarball would be reused. */
function forgetNpxInstalls(): void {
  const npx = join(process.env.npm_config_cache ?? join(homedir(), '.npm'), '_npx');
  if (!existsSync(npx)) return;
  for (const entry of readdirSync(npx)) {
    if (existsSync(join(npx, entry, 'node_modules', 'nestjs-zero-trust'))) rmSync(join(npx, entry), { recursive: true, force: true });
  }
}

async function expectDeniedWithHeaders(port: number) {
  const response = await fetch(`http://127.0.0.1:${port}/`);
  expect(response.status).toBe(401);
  expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
  expect(response.headers.get('strict-transport-security')).toContain('preload');
  expect(response.headers.get('x-powered-by')).toBeNull();
  expect(await response.json()).toEqual({ statusCode: 401, message: 'Unauthorized', error: 'Unauthorized' });
}

const port = () => 38000 + Math.floor(Math.random() * 2000);

/**
 * The README's getting-started path, run with the real Nest CLI, from empty folders, exactly as the README
 * writes each command. The package comes from the tarball under test through a private registry of the
 * test's own (every other package from the configured registry), so `nest add nestjs-zero-trust` and
 * `npx -p nestjs-zero-trust …` run unchanged. The two `nest new` runs are made once and shared; the
 * wall times of each step are printed at the end (the README's "Timing" figures come from this output).
 */
describe('README getting started, with the real Nest CLI and the packed package', () => {
  const work = mkdtempSync(join(tmpdir(), 'zt-readme-'));
  const timings: Array<[string, number]> = [];
  const children: ChildProcess[] = [];
  let registry: LocalRegistry;
  let env: NodeJS.ProcessEnv;
  let tarball: string;
  const consumer = join(work, 'existing/consumer');
  const fromTarball = join(work, 'tarball/consumer');
  const project = join(work, 'empty/my-api');
  const bin = (app: string) => [join(app, 'node_modules/.bin')];

  beforeAll(async () => {
    tarball = packedTarball();
    registry = await startLocalRegistry(tarball);
    forgetNpxInstalls();
    env = { ...process.env, NODE_ENV: 'development', npm_config_registry: registry.url, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
    for (const dir of ['existing', 'tarball', 'empty']) mkdirSync(join(work, dir));
    // The two projects the README starts from, made at the same time (each mostly waits on npm).
    const [existing, generated] = await Promise.all([
      // An existing app: what `nest new` makes (with its install), by the CLI a user has.
      sh('nest new consumer --package-manager npm --skip-git', join(work, 'existing'), env, [join(root, 'node_modules/.bin')]),
      // README step 2, from an empty folder with nothing installed.
      sh('npx --yes -p @nestjs/cli -p nestjs-zero-trust nest new my-api -c nestjs-zero-trust --package-manager npm', join(work, 'empty'), env),
    ]);
    ok(existing, 'nest new consumer');
    timings.push(['nest new (an existing app, with its npm install)', existing.seconds]);
    ok(generated, 'npx --yes -p @nestjs/cli -p nestjs-zero-trust nest new my-api -c nestjs-zero-trust --package-manager npm');
    timings.push(['npx --yes -p @nestjs/cli -p nestjs-zero-trust nest new my-api -c nestjs-zero-trust (with its npm install)', generated.seconds]);
    // The tarball path starts from the same app, before nest add.
    cpSync(consumer, fromTarball, { recursive: true, verbatimSymlinks: true });
  }, 900_000);

  afterAll(async () => {
    for (const child of children) child.kill();
    await registry?.close();
    forgetNpxInstalls();
    rmSync(work, { recursive: true, force: true });
    console.log(`Wall times on this machine (seconds):\n${timings.map(([step, seconds]) => `  ${seconds.toFixed(1).padStart(6)}  ${step}`).join('\n')}`);
  });

  it('nest new my-api -c nestjs-zero-trust through npx: the project, its resource, the standard generators, its own tests', async () => {
    expect(registry.requests).toContain('GET /nestjs-zero-trust');
    expect(JSON.parse(readFileSync(join(project, 'nest-cli.json'), 'utf8')).collection).toBe('@nestjs/schematics');
    // README step 3.
    const resource = ok(await sh('npx nest g -c nestjs-zero-trust resource task', project, env), 'nest g resource');
    expect(resource.output).toMatch(/CREATE src\/tasks\/tasks\.controller\.ts/);
    expect(resource.output).toContain('Tasks: owner-only CRUD at /tasks');
    // Nest's own generators still work in a generated project (its default collection stays @nestjs/schematics).
    const controller = ok(await sh('npx nest g controller ping --dry-run', project, env), 'nest g controller');
    expect(controller.output).toMatch(/CREATE src\/ping\/ping\.controller\.ts/);
    const tests = ok(await sh('npm test', project, env), 'npm test');
    timings.push(['npm test in the generated project (11 attack tests)', tests.seconds]);
    expect(tests.output).toMatch(/test\/security\.e2e-spec\.ts/);
    expect(tests.output).toMatch(/test\/tasks\.e2e-spec\.ts/);
    expect(tests.output).toMatch(/Tests\s+11 passed/);
    timings.push(['nest new -c + install + test (total)', timings.find(([step]) => step.startsWith('npx --yes -p'))![1] + tests.seconds]);

    // A production-only install (the build made beforehand): `npm start` serves the build instead of failing on a missing compiler.
    ok(await sh('npm run build', project, env), 'npm run build');
    ok(await sh('npm prune --omit=dev', project, env), 'npm prune --omit=dev');
    expect(existsSync(join(project, 'node_modules/typescript'))).toBe(false);
    const listen = port();
    const started = spawn('npm', ['start'], { cwd: project, env: { ...env, PATH, PORT: String(listen), PGLITE_DATA_DIR: 'memory://' }, stdio: 'pipe', detached: true });
    let log = '';
    started.stdout?.on('data', (chunk) => (log += chunk));
    started.stderr?.on('data', (chunk) => (log += chunk));
    let answer: Response | undefined;
    for (let attempt = 0; attempt < 150 && !answer && started.exitCode === null; attempt++) {
      answer = await fetch(`http://127.0.0.1:${listen}/health`).catch(() => undefined);
      if (!answer) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    // npm start runs a shell and node under it: end the whole group it leads.
    if (started.pid) process.kill(-started.pid, 'SIGTERM');
    expect(answer?.status, log).toBe(200);
    expect(log).not.toMatch(/\bsample\b/i);
  }, 900_000);

  it('nest add nestjs-zero-trust from the registry: the app builds, boots deny-by-default, its e2e example passes with a minted token', async () => {
    const added = ok(await sh('nest add nestjs-zero-trust', consumer, env, bin(consumer)), 'nest add');
    timings.push(['nest add nestjs-zero-trust (with its installs)', added.seconds]);
    expect(added.output).toContain('every route now needs a valid access token');
    expect(added.output).toContain('test/app.e2e-spec.ts sends a token minted with mintTestToken');
    const module = readFileSync(join(consumer, 'src/app.module.ts'), 'utf8');
    expect(module).toContain("import { zeroTrustOptions } from './zero-trust.config.js';");
    expect(module).toContain('ZeroTrustModule.forRootAsync({ useFactory: () => zeroTrustOptions() })');
    const manifest = JSON.parse(readFileSync(join(consumer, 'package.json'), 'utf8'));
    for (const name of ['nestjs-zero-trust', '@nestjs/passport', '@nestjs/throttler', 'passport', 'class-validator', 'class-transformer']) expect(manifest.dependencies[name], name).toBeDefined();
    expect(existsSync(join(consumer, 'node_modules/@nestjs/passport/package.json'))).toBe(true);
    // Running it again changes nothing.
    ok(await sh('nest add nestjs-zero-trust --skip-install', consumer, env, bin(consumer)), 'nest add again');
    expect(readFileSync(join(consumer, 'src/app.module.ts'), 'utf8')).toBe(module);

    const build = ok(await sh('npm run build', consumer, env), 'npm run build');
    timings.push(['npm run build', build.seconds]);
    const listen = port();
    const app = await boot(consumer, listen, env);
    children.push(app.child);
    timings.push(['boot to the first answer', app.seconds]);
    timings.push(['nest new + nest add + build + boot (total)', timings.filter(([step]) => /^(nest new \(|nest add|npm run build|boot)/.test(step)).reduce((sum, [, seconds]) => sum + seconds, 0)]);
    await expectDeniedWithHeaders(listen);
    expect(app.output()).toMatch(/declare no authorization rule[\s\S]*GET \/ \(AppController\.getHello\)/);
    expect(app.output()).toMatch(/EPHEMERAL ES256 key/);
    expect(app.output()).toContain('nestjs-zero-trust posture: grade');

    // The app's own e2e example, as nest new wrote it and nest add taught it: GET / with a minted token.
    const e2e = ok(await sh('npm run test:e2e', consumer, { ...env, NODE_ENV: 'test' }), 'npm run test:e2e');
    expect(e2e.output).toMatch(/Tests:?\s+1 passed/);
  }, 900_000);

  it('the README doctor command grades the app and names the route without a rule, with its fix', async () => {
    const doctor = await sh('npm run build && npx nestjs-zero-trust doctor', consumer, env);
    // The figures the README shows for this app.
    expect(doctor.output).toContain('nestjs-zero-trust posture: grade D (1 fail, 3 warn, 3 pass)');
    expect(doctor.output).toMatch(/FAIL \[routes\] 1 of 1 handler\(s\) declare no authorization rule.*GET \/ \(AppController\.getHello\)\n\s+fix: give each one/);
    expect(doctor.output).toMatch(/WARN \[keys\] tokens are signed with an ephemeral ES256 key/);
    expect(doctor.code).toBe(1);
  }, 120_000);

  it('the README "Install and use" command installs the package and its peers from the registry', async () => {
    const install = ok(await sh('npm install nestjs-zero-trust @nestjs/passport @nestjs/throttler passport class-validator class-transformer', consumer, env), 'npm install');
    expect(install.output).not.toMatch(/ERESOLVE|peer dep/i);
    expect(JSON.parse(readFileSync(join(consumer, 'node_modules/nestjs-zero-trust/package.json'), 'utf8')).version).toBe(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version);
  }, 300_000);

  it('the README role-migration command writes the migration through the Nest CLI', async () => {
    const migration = ok(await sh('nest g -c nestjs-zero-trust role-migration app', consumer, env, bin(consumer)), 'nest g role-migration');
    expect(migration.output).toMatch(/CREATE src\/migrations\/\d+-least-privilege\.migration\.ts/);
    const [file] = readdirSync(join(consumer, 'src/migrations'));
    expect(readFileSync(join(consumer, 'src/migrations', file), 'utf8')).toContain("runtimeRole: 'app_app'");
  }, 120_000);

  it('the tarball path: npm install ./nestjs-zero-trust-0.1.0.tgz, then nest add --skip-install; --dry-run writes nothing; strict mode is strict', async () => {
    copyFileSync(tarball, join(fromTarball, 'nestjs-zero-trust-0.1.0.tgz'));
    // `nest add <tarball>` cannot work: the CLI installs `<name>@latest` from the registry.
    ok(await sh('npm install ./nestjs-zero-trust-0.1.0.tgz', fromTarball, env), 'npm install tarball');
    const before = readFileSync(join(fromTarball, 'src/app.module.ts'), 'utf8');
    const manifestBefore = readFileSync(join(fromTarball, 'package.json'), 'utf8');
    const dry = ok(await sh('nest add nestjs-zero-trust --skip-install --authorization strict --dry-run', fromTarball, env, bin(fromTarball)), 'dry run');
    expect(dry.output).toMatch(/UPDATE src\/app\.module\.ts/);
    expect(dry.output).not.toMatch(/\bAdded to\b/);
    expect(readFileSync(join(fromTarball, 'src/app.module.ts'), 'utf8')).toBe(before);
    expect(readFileSync(join(fromTarball, 'package.json'), 'utf8')).toBe(manifestBefore);
    expect(existsSync(join(fromTarball, 'src/zero-trust.config.ts'))).toBe(false);

    ok(await sh('nest add nestjs-zero-trust --skip-install --authorization strict', fromTarball, env, bin(fromTarball)), 'nest add from the tarball');
    ok(await sh('npm install', fromTarball, env), 'npm install');
    expect(readFileSync(join(fromTarball, '.env.example'), 'utf8')).toMatch(/^ZT_AUTHORIZATION=strict$/m);
    expect(readFileSync(join(fromTarball, 'src/zero-trust.config.ts'), 'utf8')).toContain("?? 'strict'");
    ok(await sh('npm run build', fromTarball, env), 'npm run build');
    // Strict: the app made by nest new has a route without a rule, so it refuses to start and names it.
    const refused = await boot(fromTarball, port(), env).then(
      () => undefined,
      (error: Error & { output?: string }) => error.output ?? error.message,
    );
    expect(refused).toMatch(/1 route\(s\) declare no authorization rule:\n\s+- GET \/ \(AppController\.getHello\)/);
  }, 900_000);

  it('boots from CommonJS through require(esm)', async () => {
    writeFileSync(
      join(consumer, 'cjs-app.cjs'),
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
    const listen = port();
    const child = spawn(process.execPath, ['cjs-app.cjs'], { cwd: consumer, env: { ...env, PORT: String(listen) }, stdio: 'ignore' });
    children.push(child);
    let open: Response | undefined;
    for (let attempt = 0; attempt < 100 && !open; attempt++) {
      open = await fetch(`http://127.0.0.1:${listen}/open`).catch(() => undefined);
      if (!open) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(open?.status).toBe(200);
    expect(await open?.text()).toBe('open');
    await expectDeniedWithHeaders(listen);
  }, 120_000);
});

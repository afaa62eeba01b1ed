import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../..', import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

/**
 * What the build reads: a change to any of these is a new build. The checkout's own path counts too: the
 * build links that checkout's node_modules, so a build left in the temp folder by another clone of the
 * same commit (a CI run after a session on the same machine) would load a second copy of @nestjs/core and
 * typeorm, whose classes the app's DI would not recognise.
 */
function fingerprint(): string {
  const hash = createHash('sha256').update(root).update('\0');
  const inputs = [...files(join(root, 'lib')), ...files(join(root, 'schematics')), ...['package.json', 'README.md', 'tsconfig.json', 'tsconfig.cjs.json'].map((f) => join(root, f))];
  for (const file of inputs.sort()) hash.update(relative(root, file)).update('\0').update(readFileSync(file)).update('\0');
  return hash.digest('hex').slice(0, 16);
}

function tsc(args: string[]): void {
  // Emitted even with type errors (another engineer's half-done file must not stop every package test);
  // the errors are printed so they are seen, and the library's own typecheck is tsc --noEmit's business.
  const result = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), ...args], { cwd: root, encoding: 'utf8' });
  if (result.status !== 0 && result.stdout) process.stderr.write(`tsc ${args.join(' ')}:\n${result.stdout}\n`);
}

/**
 * The package exactly as `npm run build` lays it out (dist/ ESM, dist/cjs, dist/schematics with their
 * templates, package.json, README.md), built from the working tree into a folder of the tests' own: the
 * repository's dist/ is never touched, so other suites running at the same time keep theirs. One build
 * per working-tree state, shared by every test file (and by concurrent workers, through a lock).
 * node_modules links to the repository's, so the schematics find the devkit beside them as in a project.
 */
export function builtPackage(): string {
  const target = join(tmpdir(), `zt-built-${fingerprint()}`);
  const done = join(target, '.complete');
  const lock = `${target}.lock`;
  for (let waited = 0; !existsSync(done); waited++) {
    try {
      mkdirSync(lock);
    } catch {
      // Another worker builds it; a lock older than five minutes belongs to a worker that died.
      if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > 300_000) rmSync(lock, { recursive: true, force: true });
      execFileSync('sleep', ['0.5']);
      continue;
    }
    try {
      if (existsSync(done)) break;
      const staging = `${target}.staging`;
      rmSync(staging, { recursive: true, force: true });
      mkdirSync(staging, { recursive: true });
      tsc(['-p', 'tsconfig.json', '--outDir', join(staging, 'dist')]);
      tsc(['-p', 'tsconfig.cjs.json', '--outDir', join(staging, 'dist/cjs')]);
      writeFileSync(join(staging, 'dist/cjs/package.json'), JSON.stringify({ type: 'commonjs' }));
      tsc(['-p', 'schematics/tsconfig.json', '--outDir', join(staging, 'dist/schematics')]);
      execFileSync(process.execPath, [join(root, 'schematics/copy-assets.mjs'), join(staging, 'dist/schematics')], { cwd: root });
      for (const file of ['package.json', 'README.md']) copyFileSync(join(root, file), join(staging, file));
      symlinkSync(join(root, 'node_modules'), join(staging, 'node_modules'), 'dir');
      if (!existsSync(join(staging, 'dist/index.js'))) throw new Error('the library did not build: see the tsc output above');
      writeFileSync(join(staging, '.complete'), '');
      rmSync(target, { recursive: true, force: true });
      renameSync(staging, target);
      removeOldBuilds(target);
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
  return target;
}

/** Builds of earlier working-tree states, an hour old or more: a concurrent run may still use a newer one. */
function removeOldBuilds(current: string): void {
  for (const name of readdirSync(tmpdir())) {
    const path = join(tmpdir(), name);
    if (!name.startsWith('zt-built-') || path.startsWith(current) || name.endsWith('.lock')) continue;
    try {
      if (Date.now() - statSync(path).mtimeMs > 3_600_000) rmSync(path, { recursive: true, force: true });
    } catch {
      // Removed by another worker meanwhile.
    }
  }
}

/** `npm pack` of the built package (once per build): the tarball's path. */
export function packedTarball(): string {
  const built = builtPackage();
  const manifest = JSON.parse(readFileSync(join(built, 'package.json'), 'utf8')) as { name: string; version: string };
  const tarball = join(built, '..', `${built.split('/').pop()}-${manifest.name}-${manifest.version}.tgz`);
  if (!existsSync(tarball)) {
    mkdirSync(join(built, '.pack'), { recursive: true });
    const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', join(built, '.pack')], { cwd: built, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })) as Array<{ filename: string }>;
    renameSync(join(built, '.pack', packed[0].filename), tarball);
  }
  return tarball;
}

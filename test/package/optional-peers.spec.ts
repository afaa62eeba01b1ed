import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { builtPackage, root } from './built-package.js';

/**
 * ioredis is an optional peer: an app that sets REDIS_URL without installing it must be told which
 * package to install, not handed Node's raw ERR_MODULE_NOT_FOUND. The package is installed as npm
 * would (a copy in the app's node_modules), in an app whose node_modules has everything but ioredis.
 */
describe('optional peers, installed as a user installs them', () => {
  const work = mkdtempSync(join(tmpdir(), 'zt-peers-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('a Redis URL without ioredis installed stops the boot naming the package to install', () => {
    const built = builtPackage();
    const modules = join(work, 'node_modules');
    mkdirSync(modules);
    for (const name of readdirSync(join(root, 'node_modules'))) {
      if (!['nestjs-zero-trust', 'ioredis', '.bin'].includes(name)) symlinkSync(join(root, 'node_modules', name), join(modules, name));
    }
    // A real copy (not a link to the build, whose node_modules has ioredis): resolution starts from the app.
    cpSync(join(built, 'dist'), join(modules, 'nestjs-zero-trust/dist'), { recursive: true });
    cpSync(join(built, 'package.json'), join(modules, 'nestjs-zero-trust/package.json'));
    writeFileSync(join(work, 'package.json'), JSON.stringify({ name: 'no-ioredis', type: 'module' }));
    writeFileSync(
      join(work, 'main.js'),
      `import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ZeroTrustModule } from 'nestjs-zero-trust';
class AppModule {}
Module({ imports: [ZeroTrustModule.forRoot({ issuer: 'http://localhost', audience: 'x', store: process.env.REDIS_URL })] })(AppModule);
await NestFactory.create(AppModule, { logger: ['error'], abortOnError: false }).then((app) => app.init());
`,
    );
    const result = spawnSync(process.execPath, ['main.js'], { cwd: work, encoding: 'utf8', env: { ...process.env, REDIS_URL: 'redis://127.0.0.1:1', NODE_ENV: 'development' } });
    const output = `${result.stdout}${result.stderr}`;
    expect(result.status).not.toBe(0);
    expect(output).toContain('the ioredis package is not installed: npm install ioredis');
    expect(output).not.toContain('ERR_MODULE_NOT_FOUND');
  }, 900_000);
});

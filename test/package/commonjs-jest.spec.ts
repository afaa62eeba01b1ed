import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packedTarball } from './built-package.js';

const run = (command: string, args: string[], cwd: string) =>
  execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_ENV: 'test' } });

/**
 * A CommonJS app on Nest 11, tested with Jest, the way `nest new` made apps before Nest 12: Jest's
 * module loader has no require(esm), so the package must offer a CommonJS build (conditional exports).
 * The e2e file is plain JavaScript (decorators applied by hand) so no TypeScript tooling is involved.
 */
const E2E_TEST = `
require('reflect-metadata');
const { Controller, Get, Module } = require('@nestjs/common');
const { Test } = require('@nestjs/testing');
const request = require('supertest');
const { Authenticated, Public, TokenService, ZeroTrustModule } = require('nestjs-zero-trust');

class AppController {
  hello() { return { hello: 'world' }; }
  me() { return { ok: true }; }
}
const method = (name) => Object.getOwnPropertyDescriptor(AppController.prototype, name);
Reflect.decorate([Get('hello'), Public()], AppController.prototype, 'hello', method('hello'));
Reflect.decorate([Get('me'), Authenticated()], AppController.prototype, 'me', method('me'));
Controller()(AppController);

class AppModule {}
Module({ imports: [ZeroTrustModule.forRoot({ issuer: 'https://issuer.test', audience: 'cjs-app' })], controllers: [AppController] })(AppModule);

describe('nestjs-zero-trust in a CommonJS Nest 11 app under Jest', () => {
  let app;
  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
  });
  afterAll(() => app.close());

  it('serves a public route with the security headers', async () => {
    const response = await request(app.getHttpServer()).get('/hello').expect(200);
    expect(response.headers['content-security-policy']).toContain("default-src 'none'");
  });

  it('denies a route without a token, and serves it with one', async () => {
    await request(app.getHttpServer()).get('/me').expect(401);
    const token = app.get(TokenService).issueAccessToken({ subject: 'user-1' }).accessToken;
    await request(app.getHttpServer()).get('/me').set('Authorization', 'Bearer ' + token).expect(200);
  });
});
`;

describe('CommonJS consumers', () => {
  const work = mkdtempSync(join(tmpdir(), 'zt-cjs-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('the packed package loads and works under Jest in a CommonJS Nest 11 app', () => {
    const app = join(work, 'cjs-app');
    mkdirSync(join(app, 'test'), { recursive: true });
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'cjs-app', private: true, type: 'commonjs', jest: { testEnvironment: 'node', testRegex: '\\.e2e-spec\\.js$' } }));
    writeFileSync(join(app, 'test', 'app.e2e-spec.js'), E2E_TEST);
    run(
      'npm',
      [
        'install', '--no-audit', '--no-fund', '--loglevel=error',
        packedTarball(),
        '@nestjs/common@^11', '@nestjs/core@^11', '@nestjs/platform-express@^11', '@nestjs/testing@^11', '@nestjs/passport@^11',
        '@nestjs/throttler@^6', 'passport@^0.7', 'class-validator@^0.14', 'class-transformer@^0.5', 'reflect-metadata@^0.2', 'rxjs@^7',
        'jest@^30', 'supertest@^7',
      ],
      app,
    );
    const jest = spawnSync(join(app, 'node_modules/.bin/jest'), ['--ci', '--colors=false'], { cwd: app, encoding: 'utf8' });
    const output = `${jest.stdout}\n${jest.stderr}`;
    expect(output, output).not.toMatch(/Must use import to load ES Module/);
    expect(jest.status, output).toBe(0);
    expect(output).toMatch(/Tests:\s+2 passed, 2 total/);
  }, 900_000);
});

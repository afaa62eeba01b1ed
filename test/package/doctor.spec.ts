import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requirePostgresUrl, requireRedisUrl } from '../support/services.js';
import { builtPackage, root } from './built-package.js';

const pgUrl = requirePostgresUrl();
const redisUrl = requireRedisUrl();

/** An app as `nest build` leaves it: an ESM root module in dist/, importing the installed package. */
function appModule(options: { zeroTrust: string; unruledRoute: boolean; database: boolean }): string {
  return `import 'reflect-metadata';
import { Controller, Get, Inject, Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Authenticated, Public, ZeroTrustModule } from 'nestjs-zero-trust';

class HealthController { health() { return 'ok'; } me() { return 'me'; } orders() { return []; } }
const method = (name) => Object.getOwnPropertyDescriptor(HealthController.prototype, name);
Reflect.decorate([Get('health'), Public()], HealthController.prototype, 'health', method('health'));
Reflect.decorate([Get('me'), Authenticated()], HealthController.prototype, 'me', method('me'));
${options.unruledRoute ? "Reflect.decorate([Get('orders')], HealthController.prototype, 'orders', method('orders'));" : ''}
Controller()(HealthController);

class Database {
  constructor(dataSource) { this.dataSource = dataSource; }
  async onApplicationShutdown() { await this.dataSource.destroy(); }
}
Inject(DataSource)(Database, undefined, 0);

const database = ${options.database}
  ? [{ provide: DataSource, useFactory: () => new DataSource({ type: 'postgres', url: process.env.DOCTOR_PG_URL }).initialize() }, Database]
  : [];

export class AppModule {}
Module({ imports: [ZeroTrustModule.forRoot(${options.zeroTrust})], controllers: [HealthController], providers: database })(AppModule);
`;
}

/**
 * `npx nestjs-zero-trust doctor` on two built apps: one configured as the README recommends (grade A,
 * exit 0), one with every weakness the report knows (each one seen, with its fix; exit 1).
 */
describe('nestjs-zero-trust doctor', () => {
  const work = mkdtempSync(join(tmpdir(), 'zt-doctor-'));
  let bin: string;

  beforeAll(() => {
    const built = builtPackage();
    bin = join(built, 'dist/cli/main.js');
    // node_modules: the repository's packages, and this package as built (as npm would install it).
    const modules = join(work, 'node_modules');
    mkdirSync(modules);
    for (const name of readdirSync(join(root, 'node_modules'))) {
      if (name !== 'nestjs-zero-trust' && name !== '.bin') symlinkSync(join(root, 'node_modules', name), join(modules, name));
    }
    symlinkSync(built, join(modules, 'nestjs-zero-trust'));
    writeFileSync(join(work, 'package.json'), JSON.stringify({ name: 'doctor-app', type: 'module' }));
  }, 900_000);

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  function doctor(app: string, env: Record<string, string>, args: string[] = []) {
    const dir = join(work, app);
    const result = spawnSync(process.execPath, [bin, 'doctor', ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, ...env } });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  }

  function write(app: string, module: string): void {
    mkdirSync(join(work, app, 'dist'), { recursive: true });
    writeFileSync(join(work, app, 'dist/app.module.js'), module);
    symlinkSync(join(work, 'node_modules'), join(work, app, 'node_modules'));
    writeFileSync(join(work, app, 'package.json'), JSON.stringify({ name: app, type: 'module' }));
  }

  it.skipIf(!redisUrl)('grades A a production app with a dated key, strict rules, the default headers, one proxy hop and a shared store', () => {
    const month = new Date().toISOString().slice(0, 7);
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    write(
      'good',
      appModule({
        unruledRoute: false,
        database: false,
        zeroTrust: `{ issuer: 'https://api.example.com', audience: 'good', authorization: 'strict', trustProxy: 1,
          keys: [{ kid: '${month}', alg: 'ES256', privateKey: process.env.DOCTOR_KEY }],
          store: process.env.DOCTOR_REDIS_URL, storeKeyPrefix: 'zt-doctor-${randomBytes(4).toString('hex')}:' }`,
      }),
    );
    const { status, output } = doctor('good', { NODE_ENV: 'production', DOCTOR_KEY: pem, DOCTOR_REDIS_URL: redisUrl! });
    expect(output).toMatch(/^nestjs-zero-trust posture: grade A \(0 fail, 0 warn, \d+ pass\)/m);
    expect(output).toContain('PASS [routes] every one of 2 handler(s) declares a rule or is @Public()');
    expect(output).toContain("PASS [routes] authorization: 'strict'");
    expect(output).toContain(`PASS [keys] key "${month}": ES256`);
    expect(output).toContain('PASS [proxy] X-Forwarded-For believed from 1 proxy hop(s)');
    expect(output).toContain('PASS [throttling] rate limits, lockouts and revocations are shared through RedisStore');
    expect(output).toContain('PASS [production]');
    expect(status).toBe(0);
  }, 120_000);

  it.skipIf(!pgUrl)('names every weakness of a bad app, each with its fix, and exits 1', () => {
    write(
      'bad',
      appModule({
        unruledRoute: true,
        database: true,
        zeroTrust: `{ issuer: 'http://localhost', audience: 'bad', authorization: 'report', trustProxy: ['0.0.0.0/0'],
          securityHeaders: { 'Content-Security-Policy': "default-src 'self' 'unsafe-inline'", 'Strict-Transport-Security': 'max-age=600' } }`,
      }),
    );
    // Connected as the server's superuser: the database check's findings come through the report.
    const { status, output } = doctor('bad', { NODE_ENV: 'development', DOCTOR_PG_URL: pgUrl! });
    expect(output).toMatch(/^nestjs-zero-trust posture: grade F/m);
    expect(output).toMatch(/FAIL \[routes\] 1 of 3 handler\(s\) declare no authorization rule.*GET \/orders \(HealthController\.orders\)\n\s+fix: give each one @OwnsResource/);
    expect(output).toMatch(/WARN \[routes\] authorization: 'report'.*\n\s+fix: set authorization: 'strict'/);
    expect(output).toMatch(/WARN \[keys\] tokens are signed with an ephemeral ES256 key.*\n\s+fix: openssl genpkey/);
    // Said once: the boot check's own warning about the same key is not repeated as a boot line.
    expect(output.match(/ephemeral ES256 key|EPHEMERAL/g)).toHaveLength(1);
    expect(output).toMatch(/WARN \[headers\] Content-Security-Policy allows more than it should.*\n\s+fix:/);
    expect(output).toMatch(/WARN \[headers\] Strict-Transport-Security max-age is 600s/);
    expect(output).toMatch(/FAIL \[proxy\] trustProxy includes every address.*\n\s+fix: list only your proxies/);
    expect(output).toMatch(/WARN \[production\] environment "development".*\n\s+fix: run production with NODE_ENV=production/);
    expect(output).toMatch(/WARN \[database\] the database role "[^"]+" the app connects as has privileges it does not need.*\n\s+fix: .*superuser/i);
    expect(status).toBe(1);
  }, 120_000);

  it.skipIf(!pgUrl)('reports past the refusals of a strict production app (report-only boot): each refusal, and every other finding', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    write(
      'refused',
      appModule({
        unruledRoute: true,
        database: true,
        zeroTrust: "{ issuer: 'https://api.example.com', audience: 'strict', authorization: 'strict', trustProxy: ['0.0.0.0/0'], keys: [{ kid: '2020-01', alg: 'ES256', privateKey: process.env.DOCTOR_KEY }] }",
      }),
    );
    const env = { NODE_ENV: 'production', DOCTOR_PG_URL: pgUrl!, DOCTOR_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
    const { status, output } = doctor('refused', env);
    // Both refusals, each as a failure of its own, instead of "the app does not start" and nothing else.
    expect(output).toMatch(/FAIL \[boot\] the app does not start: 1 route\(s\) declare no authorization rule\n\s+fix: Give each one @OwnsResource/);
    expect(output).toMatch(/FAIL \[database\] the app does not start: the database role "[^"]+" the app connects as has privileges it does not need\n\s+fix: - SUPERUSER/);
    // And every other check still ran.
    expect(output).toMatch(/FAIL \[routes\] 1 of 3 handler\(s\) declare no authorization rule.*GET \/orders \(HealthController\.orders\)/);
    expect(output).toContain("PASS [routes] authorization: 'strict'");
    expect(output).toMatch(/WARN \[keys\] key "2020-01" \(ES256\) is \d+ days old\n\s+fix: rotate it/);
    expect(output).toMatch(/FAIL \[proxy\] trustProxy includes every address/);
    expect(output).toMatch(/WARN \[throttling\] rate limits, lockouts and revocations are counted in this process’s memory/);
    expect(output).toContain('PASS [production]');
    expect(output).toMatch(/^nestjs-zero-trust posture: grade F \(\d+ fail, /m);
    expect(status).toBe(1);
    // Only under the doctor: the same app started by itself still refuses to start.
    const start = spawnSync(process.execPath, ['--input-type=module', '-e', "import { NestFactory } from '@nestjs/core'; import { AppModule } from './dist/app.module.js'; const app = await NestFactory.create(AppModule, { logger: false }); await app.init(); await app.close(); console.log('STARTED');"], {
      cwd: join(work, 'refused'),
      encoding: 'utf8',
      env: { ...process.env, ...env },
    });
    expect(start.stdout).not.toContain('STARTED');
    expect(start.stderr).toMatch(/ZeroTrustConfigurationError: nestjs-zero-trust: (\d+ route\(s\) declare no authorization rule|the database role "[^"]+" the app connects as has privileges)/);
    expect(start.status).not.toBe(0);
  }, 120_000);

  it('reports a boot stopped by a malformed option as its only failure, with the fix the check gives', () => {
    write('malformed', appModule({ unruledRoute: false, database: false, zeroTrust: "{ issuer: 'http://localhost', audience: 'x', authorisation: 'strict' }" }));
    const { status, output } = doctor('malformed', { NODE_ENV: 'development' });
    expect(output).toMatch(/^nestjs-zero-trust posture: grade D \(1 fail, 0 warn, 0 pass\)\nFAIL \[boot\] the app does not start: .*authorisation/m);
    expect(status).toBe(1);
  }, 120_000);

  it('says to build first when there is no compiled module', () => {
    mkdirSync(join(work, 'unbuilt'), { recursive: true });
    const { status, output } = doctor('unbuilt', {});
    expect(output).toContain('no compiled root module at dist/app.module.js or dist/src/app.module.js: build the app first (npm run build), or pass --module.');
    expect(status).toBe(2);
  });
});

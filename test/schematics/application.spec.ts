import type { UnitTestTree } from '@angular-devkit/schematics/testing/index.js';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { contents, runner } from './support.js';
import { typecheck } from './typecheck.js';

/**
 * What exists only for this repository's own test suites (the sample's environment switches for rate
 * limits, caches, key prefixes, in-memory databases and throwaway roles; its two-adapter factory) and
 * must never reach a user's project.
 */
const TEST_HOOKS = [/\bZT_DB\b/, /ZT_DB_(OWNER|RUNTIME)_ROLE/, /ZT_TEST_/, /createSampleApp|app\.factory/, /platform-fastify|FastifyAdapter/, /\bsample\b/i];

/** The ZT_* variables a generated project may read: configuration a deployment sets, each in .env.example. */
const CONFIGURATION = [
  'ZT_AUDIENCE',
  'ZT_ISSUER',
  'ZT_JWT_KID',
  'ZT_JWT_PREVIOUS_KID',
  'ZT_JWT_PREVIOUS_PUBLIC_KEY',
  'ZT_JWT_PRIVATE_KEY',
  'ZT_MAIL_FROM',
  'ZT_MFA_ENCRYPTION_KEY',
  'ZT_PASSWORD_PEPPER',
  'ZT_POW_HMAC_KEY',
  'ZT_PUBLIC_URL',
  'ZT_RLS_IDENTITY_KEY',
  'ZT_SMTP_REQUIRE_TLS',
  'ZT_SMTP_URL',
  'ZT_TRUST_PROXY',
];

/** Files the generated project shares with the sample word for word (its account lifecycle, issue 20). */
const SAME_AS_SAMPLE = [
  'src/account/account.controller.ts',
  'src/account/account.dto.ts',
  'src/account/account.module.ts',
  'src/account/account.service.ts',
  'src/account/passkey.controller.ts',
  'src/account/passkey.dto.ts',
  'src/account/users-account.registry.ts',
  'src/account/verified-users.directory.ts',
  'src/auth/auth.controller.ts',
  'src/database/1732000320000-account-lifecycle.migration.ts',
];

describe('application', () => {
  let tree: UnitTestTree;
  let files: Map<string, string>;

  beforeAll(async () => {
    tree = await runner.runSchematic('application', { name: 'My-API', description: 'Invoices, "safely"', author: 'Ada <ada@example.com>', packageManager: 'npm' });
    files = contents(tree);
  });

  it('generates a complete project in a folder named after it', () => {
    for (const file of [
      '/my-api/package.json',
      '/my-api/tsconfig.json',
      '/my-api/tsconfig.build.json',
      '/my-api/nest-cli.json',
      '/my-api/vitest.config.ts',
      '/my-api/.gitignore',
      '/my-api/.env.example',
      '/my-api/README.md',
      '/my-api/src/main.ts',
      '/my-api/src/app.module.ts',
      '/my-api/src/zero-trust.config.ts',
      '/my-api/src/database/database.options.ts',
      '/my-api/src/database/1732000300000-least-privilege.migration.ts',
      '/my-api/test/security.e2e-spec.ts',
    ]) {
      expect(tree.files, file).toContain(file);
    }
    expect(tree.files.every((file) => file.startsWith('/my-api/'))).toBe(true);
  });

  it("keeps @nestjs/schematics as the project's default collection, so `nest g controller` and the rest still work", () => {
    expect(JSON.parse(files.get('/my-api/nest-cli.json')!).collection).toBe('@nestjs/schematics');
    const manifest = JSON.parse(files.get('/my-api/package.json')!);
    const cli = /\d+/.exec(manifest.devDependencies['@nestjs/cli'])![0];
    expect(manifest.devDependencies['@nestjs/schematics']).toBe(`^${cli}.0.0`);
  });

  it('renders its templates: no placeholder left in a path or a file', () => {
    for (const [file, content] of files) {
      expect(file).not.toMatch(/__\w+__/);
      expect(content, file).not.toMatch(/<%|%>/);
    }
  });

  it('substitutes the project name: package, README, audience, MFA issuer, Redis key prefix, database roles', () => {
    expect(files.get('/my-api/README.md')).toMatch(/^# my-api\n\nInvoices, "safely"\n/);
    const config = files.get('/my-api/src/zero-trust.config.ts')!;
    expect(config).toContain("audience: env.ZT_AUDIENCE ?? 'my-api'");
    expect(config).toContain("storeKeyPrefix: 'my-api:'");
    expect(files.get('/my-api/src/auth/auth.service.ts')).toContain("const MFA_ISSUER = 'my-api';");
    const roles = files.get('/my-api/src/database/1732000300000-least-privilege.migration.ts')!;
    expect(roles).toContain("process.env.DATABASE_OWNER_ROLE ?? 'my_api_owner'");
    expect(roles).toContain("process.env.DATABASE_RUNTIME_ROLE ?? 'my_api_app'");
    expect(files.get('/my-api/test/security.e2e-spec.ts')).toContain("aud: 'my-api'");
  });

  it('writes a package.json with escaped free text and every dependency pinned to a tested version', () => {
    const manifest = JSON.parse(files.get('/my-api/package.json')!);
    expect(manifest).toMatchObject({ name: 'my-api', description: 'Invoices, "safely"', author: 'Ada <ada@example.com>', private: true, type: 'module', scripts: { test: 'vitest run' } });
    expect(manifest.dependencies['nestjs-zero-trust']).toMatch(/^\^\d/);
    for (const [name, range] of Object.entries({ ...manifest.dependencies, ...manifest.devDependencies })) expect(range, name).toMatch(/^[\^~]?\d/);
    for (const name of ['@nestjs/testing', '@nestjs/cli', 'vitest', 'supertest']) expect(manifest.devDependencies[name], name).toBeDefined();
    // The project uses the module the way a user does: no schematics toolchain of its own beyond the CLI.
    expect(manifest.dependencies).not.toHaveProperty('@angular-devkit/schematics');
  });

  it('contains none of the test hooks of this repository', () => {
    const found = [...files].flatMap(([file, content]) => TEST_HOOKS.filter((hook) => hook.test(content)).map((hook) => `${file}: ${hook}`));
    expect(found).toEqual([]);
    // Any other ZT_* switch (ZT_AUTH_RATE_LIMIT, ZT_REVOCATION_CACHE_…, ZT_REDIS_PREFIX, ZT_HTTP_PLATFORM…) is not configuration.
    const switches = new Set([...files.values()].flatMap((content) => [...content.matchAll(/\bZT_[A-Z0-9_]*[A-Z0-9]/g)].map((match) => match[0].replace(/_FILE$/, ''))));
    expect([...switches].sort()).toEqual(CONFIGURATION);
  });

  it('lists in .env.example every environment variable the project reads, role names included', () => {
    const env = files.get('/my-api/.env.example')!;
    const read = new Set<string>();
    for (const [file, content] of files) {
      if (!file.startsWith('/my-api/src/')) continue;
      for (const match of content.matchAll(/\benv\.([A-Z][A-Z0-9_]*)/g)) read.add(match[1]);
      for (const match of content.matchAll(/pemFrom\(env, '([A-Z0-9_]+)'\)/g)) read.add(match[1]).add(`${match[1]}_FILE`);
    }
    expect([...read]).toEqual(expect.arrayContaining(['DATABASE_OWNER_ROLE', 'DATABASE_RUNTIME_ROLE', 'DATABASE_URL', 'ZT_JWT_PRIVATE_KEY_FILE', 'REDIS_URL', 'PGLITE_DATA_DIR']));
    for (const name of read) expect(env, name).toMatch(new RegExp(`^${name}=`, 'm'));
    expect(env).toMatch(/^ZT_JWT_PRIVATE_KEY=$/m);
  });

  it('has the account lifecycle of the sample: registration, verification, reset and passkeys, the same files', () => {
    for (const file of SAME_AS_SAMPLE) expect(files.get(`/my-api/${file}`), file).toBe(readFileSync(new URL(`../../sample/${file}`, import.meta.url), 'utf8'));
    expect(files.get('/my-api/src/app.module.ts')).toContain('    AccountModule,\n    AdminModule,\n');
    const config = files.get('/my-api/src/zero-trust.config.ts')!;
    expect(config).toContain('lifecycle: accountLifecycle(env)');
    expect(config).toContain('accounts: { directory: VerifiedUsersDirectory');
    expect(files.get('/my-api/src/account/account-lifecycle.config.ts')).toContain("rpName: 'my-api'");
    const migrations = files.get('/my-api/src/database/database.options.ts')!;
    expect(migrations.indexOf('  ZeroTrustLifecycle1732000130000,\n  AccountLifecycle1732000320000,\n];')).toBeGreaterThan(migrations.indexOf('  UserCredentials1732000310000,'));
    const manifest = JSON.parse(files.get('/my-api/package.json')!);
    for (const name of ['altcha-lib', '@zxcvbn-ts/core', '@zxcvbn-ts/language-common', '@simplewebauthn/server', 'nodemailer']) expect(manifest.dependencies[name], name).toMatch(/^[\^~]?\d/);
    const security = files.get('/my-api/test/security.e2e-spec.ts')!;
    expect(security).toContain('answers a new and a taken address alike at registration');
    expect(security).toContain('accepts a password-reset link once');
  });

  it('configures the module with the second-based option names', () => {
    const config = files.get('/my-api/src/zero-trust.config.ts')!;
    expect(config).toContain('throttle: { auth: { limit: 10, window: 60 } }');
    expect(config).toContain('store: env.REDIS_URL || undefined');
    // The sign-in flow uses SessionService, which needs the option; refreshes read the grants from the users table.
    expect(config).toContain('sessions: { grants: UsersService }');
    // Sign-in, MFA and recent authentication come from the library, TOTP secrets encrypted with a configured key.
    // Sign-in goes through VerifiedUsersDirectory (UsersService, where an unverified address answers like a disabled account).
    expect(config).toContain("accounts: { directory: VerifiedUsersDirectory, totpEncryptionKey: secretFrom(env, 'ZT_MFA_ENCRYPTION_KEY') }");
    expect(config).not.toMatch(/windowMs|blockMs|revocationCacheMs|redisKeyPrefix|\bredis:/);
  });

  it('leaves the tests out with --skip-tests', async () => {
    const lean = await runner.runSchematic('application', { name: 'lean', skipTests: true });
    expect(lean.files.some((file) => file.startsWith('/lean/test/'))).toBe(false);
    expect(lean.files).toContain('/lean/src/main.ts');
  });

  it('makes database role names PostgreSQL accepts from any package name', async () => {
    const odd = await runner.runSchematic('application', { name: '3d.shop' });
    expect(odd.readContent('/3d.shop/src/database/1732000300000-least-privilege.migration.ts')).toContain("'app_3d_shop_owner'");
  });

  it('refuses a name npm would refuse', async () => {
    await expect(runner.runSchematic('application', { name: 'bad name!' })).rejects.toThrow(/cannot be a package name/);
  });

  it('type-checks against the library it is generated for', () => {
    expect(typecheck(tree, '/my-api/')).toEqual([]);
  }, 120_000);
});

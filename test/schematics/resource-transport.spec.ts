import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UnitTestTree } from '@angular-devkit/schematics/testing/index.js';
import { builtPackage, root } from '../package/built-package.js';
import { nestNewApp, runner, zeroTrustApp } from './support.js';
import { typecheck } from './typecheck.js';

const migrationOf = (tree: UnitTestTree, plural: string) => tree.readContent(tree.files.find((file) => new RegExp(`^/src/database/\\d+-${plural}-table\\.migration\\.ts$`).test(file))!);

describe('resource --transport graphql', () => {
  let tree: UnitTestTree;
  let original: string;

  beforeAll(async () => {
    const app = await zeroTrustApp();
    original = app.readContent('/src/app.module.ts');
    tree = await runner.runSchematic('resource', { name: 'invoice-line', transport: 'graphql' }, app);
  });

  it('renders an owned entity, a model without the owner, whitelisted inputs, a resolver and its attack test', () => {
    const files = ['invoice-line.entity.ts', 'invoice-line.model.ts', 'invoice-line.input.ts', 'invoice-lines.resolver.ts', 'invoice-lines.module.ts'].map((file) => `/src/invoice-lines/${file}`);
    for (const file of [...files, '/src/graphql/graphql-api.module.ts', '/test/invoice-lines-graphql.e2e-spec.ts']) {
      expect(tree.files, file).toContain(file);
      expect(tree.readContent(file), file).not.toMatch(/<%|%>/);
    }
    // No REST controller or DTO: the resource is served by the resolver only.
    expect(tree.files.filter((file) => file.startsWith('/src/invoice-lines/')).sort()).toEqual([...files].sort());
    expect(tree.readContent('/src/invoice-lines/invoice-line.model.ts')).not.toMatch(/ownerId/);
    expect(tree.readContent('/src/invoice-lines/invoice-line.input.ts')).not.toMatch(/^\s+(ownerId|id)[!?]?:/m);
    expect(tree.readContent('/src/invoice-lines/invoice-line.input.ts')).toMatch(/@InputType\('CreateInvoiceLineInput'\)[\s\S]*@IsString\(\)[\s\S]*@Length\(1, 200\)/);
  });

  it("holds every operation to the REST controller's rules: @OwnsResource by id, OwnedRepository for lists and creation", () => {
    const resolver = tree.readContent('/src/invoice-lines/invoice-lines.resolver.ts');
    const rules = [...resolver.matchAll(/@(Authenticated|OwnsResource)\((\w*)\)\n\s+@(Query|Mutation)\([^\n]*name: '(\w+)'/g)].map(([, rule, entity, kind, name]) => `${kind} ${name}: ${rule}(${entity})`);
    expect(rules).toEqual([
      'Query invoiceLines: Authenticated()',
      'Query invoiceLine: OwnsResource(InvoiceLine)',
      'Mutation createInvoiceLine: Authenticated()',
      'Mutation updateInvoiceLine: OwnsResource(InvoiceLine)',
      'Mutation deleteInvoiceLine: OwnsResource(InvoiceLine)',
    ]);
    // Every data access goes through the caller's OwnedRepository or the record @OwnsResource checked.
    expect(resolver).not.toMatch(/(?<!Owned)Repository<|InjectRepository|DataSource/);
    expect(resolver.match(/@Owned\(InvoiceLine\) rows: OwnedRepository<InvoiceLine>/g)).toHaveLength(4);
    expect(tree.readContent('/test/invoice-lines-graphql.e2e-spec.ts')).toMatch(/needs a token[\s\S]*NOT_FOUND[\s\S]*ownerId/);
  });

  it('serves /graphql with zeroTrustGraphql(), registered once in the app module, and declares its packages', async () => {
    expect(tree.readContent('/src/graphql/graphql-api.module.ts')).toContain("...(await zeroTrustGraphql({ driver: 'apollo' }))");
    const module = tree.readContent('/src/app.module.ts');
    expect(module).toContain("import { GraphqlApiModule } from './graphql/graphql-api.module.js';");
    expect(module).toContain('    AdminModule,\n    GraphqlApiModule,\n    InvoiceLinesModule,\n  ],');
    expect(module.replace(/\nimport \{ (GraphqlApiModule|InvoiceLinesModule) \} from '[^']+';/g, '').replace(/\n {4}(GraphqlApiModule|InvoiceLinesModule),/g, '')).toBe(original);
    const manifest = JSON.parse(tree.readContent('/package.json')) as { dependencies: Record<string, string> };
    for (const name of ['@nestjs/graphql', '@nestjs/apollo', '@apollo/server', '@as-integrations/express5', 'graphql', '@escape.tech/graphql-armor']) expect(manifest.dependencies[name], name).toMatch(/^\^?\d/);
    // A second GraphQL resource joins the same /graphql.
    const second = await runner.runSchematic('resource', { name: 'task', transport: 'graphql' }, tree);
    expect(second.readContent('/src/app.module.ts').match(/GraphqlApiModule,/g)).toHaveLength(1);
    expect(second.readContent('/src/graphql/graphql-api.module.ts')).toBe(tree.readContent('/src/graphql/graphql-api.module.ts'));
  });

  it("keeps the REST resource's table: grants for the runtime role and the forced row-level-security policy", () => {
    const migration = migrationOf(tree, 'invoice-lines');
    expect(migration).toContain('GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE "invoice_lines" TO "${RUNTIME_ROLE}"');
    expect(migration).toContain('OWNER TO "${OWNER_ROLE}"');
    expect(migration).toMatch(/FORCE ROW LEVEL SECURITY[\s\S]*CREATE POLICY zero_trust_owner ON "invoice_lines"/);
  });

  it('keeps the project type-checking', () => {
    expect(typecheck(tree)).toEqual([]);
  }, 120_000);
});

describe('resource --transport ws', () => {
  let tree: UnitTestTree;
  let originalMain: string;

  beforeAll(async () => {
    const app = await zeroTrustApp();
    originalMain = app.readContent('/src/main.ts');
    tree = await runner.runSchematic('resource', { name: 'invoice-line', transport: 'ws' }, app);
  });

  it('renders an owned entity, validated message payloads, a gateway and its attack test', () => {
    const files = ['invoice-line.entity.ts', 'invoice-line.message.ts', 'invoice-lines.gateway.ts', 'invoice-lines.module.ts'].map((file) => `/src/invoice-lines/${file}`);
    for (const file of [...files, '/src/websockets/websockets.setup.ts', '/test/invoice-lines-ws.e2e-spec.ts']) {
      expect(tree.files, file).toContain(file);
      expect(tree.readContent(file), file).not.toMatch(/<%|%>/);
    }
    expect(tree.files.filter((file) => file.startsWith('/src/invoice-lines/')).sort()).toEqual([...files].sort());
    const messages = tree.readContent('/src/invoice-lines/invoice-line.message.ts');
    expect(messages).not.toMatch(/ownerId[!?]?:/);
    expect(messages).toMatch(/class CreateInvoiceLineMessage \{\n {2}@IsString\(\)\n {2}@Length\(1, 200\)\n {2}title!: string;\n\}/);
  });

  it("holds every message handler to the REST controller's rules, with its payload validated", () => {
    const gateway = tree.readContent('/src/invoice-lines/invoice-lines.gateway.ts');
    expect(gateway).toContain("@WebSocketGateway({ path: '/invoice-lines' })");
    const rules = [...gateway.matchAll(/@(Authenticated|OwnsResource)\((\w*)\)\n\s+@SubscribeMessage\('([\w:-]+)'\)\n\s+(?:async )?\w+\(([^\n]*)\)/g)].map(([, rule, entity, event, params]) => `${event}: ${rule}(${entity}) ${/@MessageBody\(\) \w+: \w+Message/.test(params) ? 'validated' : 'UNVALIDATED'}`);
    expect(rules).toEqual([
      'invoice-lines:list: Authenticated() validated',
      'invoice-lines:create: Authenticated() validated',
      'invoice-lines:get: OwnsResource(InvoiceLine) validated',
      'invoice-lines:update: OwnsResource(InvoiceLine) validated',
      'invoice-lines:delete: OwnsResource(InvoiceLine) validated',
    ]);
    expect(gateway).not.toMatch(/(?<!Owned)Repository<|InjectRepository|DataSource/);
    expect(migrationOf(tree, 'invoice-lines')).toMatch(/FORCE ROW LEVEL SECURITY[\s\S]*CREATE POLICY zero_trust_owner ON "invoice_lines"/);
    expect(tree.readContent('/test/invoice-lines-ws.e2e-spec.ts')).toMatch(/needs a token[\s\S]*another|away from B[\s\S]*ownerId/);
  });

  it('puts the zero-trust WebSocket adapter in main.ts once, right after NestFactory.create', async () => {
    const main = tree.readContent('/src/main.ts');
    expect(main).toContain("import { useZeroTrustWebSockets } from './websockets/websockets.setup.js';");
    expect(main).toMatch(/const app = await NestFactory\.create\(AppModule[^\n]*\);\n {2}await useZeroTrustWebSockets\(app\);\n/);
    expect(main.replace("\nimport { useZeroTrustWebSockets } from './websockets/websockets.setup.js';", '').replace('\n  await useZeroTrustWebSockets(app);', '')).toBe(originalMain);
    expect(tree.readContent('/src/websockets/websockets.setup.ts')).toContain("zeroTrustWebSocketAdapter(app, { library: 'ws', allowedOrigins: webSocketOrigins() })");
    const manifest = JSON.parse(tree.readContent('/package.json')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    for (const name of ['@nestjs/websockets', '@nestjs/platform-ws']) expect(manifest.dependencies[name], name).toMatch(/^\^?\d/);
    for (const name of ['ws', '@types/ws']) expect(manifest.devDependencies[name], name).toMatch(/^\^?\d/);
    const second = await runner.runSchematic('resource', { name: 'task', transport: 'ws' }, tree);
    expect(second.readContent('/src/main.ts')).toBe(main);
    expect(second.readContent('/src/tasks/tasks.gateway.ts')).toContain("@WebSocketGateway({ path: '/tasks' })");
  });

  it('says how to wire the adapter by hand when main.ts does not create the app', async () => {
    const app = await zeroTrustApp();
    app.overwrite('/src/main.ts', "import { bootstrap } from './bootstrap.js';\nvoid bootstrap();\n");
    await expect(runner.runSchematic('resource', { name: 'task', transport: 'ws' }, app)).rejects.toThrow(/src\/main\.ts has no `const app = await NestFactory\.create\(\.\.\.\)`: call `await useZeroTrustWebSockets\(app\)`/);
  });

  it('keeps the project type-checking', () => {
    expect(typecheck(tree)).toEqual([]);
  }, 120_000);
});

describe('resource --transport', () => {
  it('defaults to the REST controller, with its row-level-security policy', async () => {
    const tree = await runner.runSchematic('resource', { name: 'task' }, await zeroTrustApp());
    expect(tree.files).toContain('/src/tasks/tasks.controller.ts');
    expect(tree.files.some((file) => /resolver|gateway|graphql|websockets/.test(file))).toBe(false);
    expect(migrationOf(tree, 'tasks')).toMatch(/FORCE ROW LEVEL SECURITY[\s\S]*CREATE POLICY zero_trust_owner ON "tasks"/);
  });

  it('refuses an unknown transport, naming the ones there are', async () => {
    await expect(runner.runSchematic('resource', { name: 'task', transport: 'grpc' }, await zeroTrustApp())).rejects.toThrow(/transport[\s\S]*(rest|allowed values)/i);
  });
});

/**
 * The generated attack tests, run as the project runs them (`vitest run`, its own config), against the
 * package built from this tree: a GraphQL and a WebSocket resource side by side in one project, so each
 * proves its refusals (and that nothing changed) on a real app with the forced row-level-security policy.
 */
describe('the generated GraphQL and WebSocket attack tests pass in the project', () => {
  let work: string | undefined;
  afterAll(() => work && rmSync(work, { recursive: true, force: true }));

  it('runs the generated tests: invoice-lines over GraphQL, tasks over a socket', async () => {
    work = mkdtempSync(join(tmpdir(), 'zt-resource-transport-'));
    let tree = await runner.runSchematic('resource', { name: 'invoice-line', transport: 'graphql' }, await zeroTrustApp());
    tree = await runner.runSchematic('resource', { name: 'task', transport: 'ws' }, tree);
    for (const file of tree.files) {
      mkdirSync(dirname(join(work, file)), { recursive: true });
      writeFileSync(join(work, file), tree.readContent(file));
    }
    // The project's packages: this repository's, but nestjs-zero-trust the built package (as installed).
    mkdirSync(join(work, 'node_modules'));
    for (const entry of readdirSync(join(root, 'node_modules'))) {
      if (entry !== 'nestjs-zero-trust' && entry !== '.bin') symlinkSync(join(root, 'node_modules', entry), join(work, 'node_modules', entry));
    }
    symlinkSync(builtPackage(), join(work, 'node_modules/nestjs-zero-trust'));
    const output = await new Promise<string>((resolve) => {
      execFile(process.execPath, [join(root, 'node_modules/vitest/vitest.mjs'), 'run', 'test/invoice-lines-graphql.e2e-spec.ts', 'test/tasks-ws.e2e-spec.ts'], { cwd: work, env: { ...process.env, CI: 'true', NODE_ENV: 'test' }, maxBuffer: 16 * 1024 * 1024 }, (_error, stdout, stderr) => resolve(`${stdout}${stderr}`.replace(/\x1b\[[0-9;]*m/g, '')));
    });
    expect(output).toMatch(/test\/invoice-lines-graphql\.e2e-spec\.ts \(3 tests\)/);
    expect(output).toMatch(/test\/tasks-ws\.e2e-spec\.ts \(3 tests\)/);
    expect(output, output.slice(-4000)).toMatch(/Tests\s+6 passed \(6\)/);
  }, 300_000);
});

describe('nest add on an app with a WebSocket adapter', () => {
  const WS_MAIN = `import { NestFactory } from '@nestjs/core';
import { WsAdapter } from '@nestjs/platform-ws';
import { AppModule } from './app.module.js';

async function bootstrap() {
  const app = await NestFactory.create(AppModule);
  app.useWebSocketAdapter(new WsAdapter(app));
  await app.listen(process.env.PORT ?? 3000);
}
await bootstrap();
`;

  it("swaps Nest's WsAdapter for the zero-trust adapter of the same library, once", async () => {
    const app = await nestNewApp();
    app.overwrite('/src/main.ts', WS_MAIN);
    const added = await runner.runSchematic('nest-add', { sourceRoot: 'src', skipInstall: true }, app);
    const main = added.readContent('/src/main.ts');
    expect(main).toBe(
      WS_MAIN.replace("import { WsAdapter } from '@nestjs/platform-ws';\n", '')
        .replace("import { AppModule } from './app.module.js';", "import { AppModule } from './app.module.js';\nimport { zeroTrustWebSocketAdapter } from 'nestjs-zero-trust';")
        .replace(
          'new WsAdapter(app)',
          "await zeroTrustWebSocketAdapter(app, { library: 'ws', allowedOrigins: (process.env.ZT_WS_ORIGINS ?? '').split(',').map((origin) => origin.trim()).filter(Boolean) })",
        ),
    );
    expect((await runner.runSchematic('nest-add', { sourceRoot: 'src', skipInstall: true }, added)).readContent('/src/main.ts')).toBe(main);
  });

  it('leaves an adapter it does not recognise, or one outside an async function, as it is', async () => {
    for (const main of [WS_MAIN.replace('new WsAdapter(app)', 'new MyAdapter(app)'), WS_MAIN.replace('async function bootstrap', 'function bootstrap')]) {
      const app = await nestNewApp();
      app.overwrite('/src/main.ts', main);
      expect((await runner.runSchematic('nest-add', { sourceRoot: 'src', skipInstall: true }, app)).readContent('/src/main.ts')).toBe(main);
    }
  });
});

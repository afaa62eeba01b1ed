import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { packedTarball, root } from './built-package.js';
import { type LocalRegistry, startLocalRegistry } from './local-registry.js';

/** The repository's own tools stay off PATH but for the Nest CLI's folder: commands find what a user's shell would. */
const PATH = (process.env.PATH ?? '').split(':').filter((entry) => !entry.includes('node_modules')).join(':');
const plain = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, '');

/** Runs a command through a shell in `cwd` (`bin` folders first on PATH); rejects with its output when it fails. */
function run(command: string, cwd: string, env: NodeJS.ProcessEnv, bin: string[] = []): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('bash', ['-c', `${command} 2>&1`], { cwd, env: { ...env, PATH: [...bin, PATH].join(':') }, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (error, stdout) => {
      if (error) reject(new Error(`${command} (in ${cwd}) exited with ${(error as { code?: number }).code}:\n${plain(stdout).slice(-6000)}`));
      else resolve(plain(stdout));
    });
  });
}

/** The packages the two apps add to what `nest new` makes, at the versions this package is tested with. */
function extras(): string {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
  const names = ['@nestjs/graphql', '@nestjs/apollo', '@apollo/server', '@as-integrations/express5', 'graphql', '@nestjs/websockets', '@nestjs/platform-ws'];
  return names.map((name) => `'${name}@${manifest.devDependencies[name]}'`).join(' ');
}

/** A code-first GraphQL app: one query the developer will rule (`me`), one left without a rule (`hello`). */
const GRAPHQL_APP = {
  'src/hello.resolver.ts': `import { Query, Resolver } from '@nestjs/graphql';

@Resolver()
export class HelloResolver {
  @Query(() => String)
  hello(): string {
    return 'hello';
  }

  @Query(() => String)
  me(): string {
    return 'me';
  }
}
`,
  'src/app.module.ts': `import { ApolloDriver, type ApolloDriverConfig } from '@nestjs/apollo';
import { Module } from '@nestjs/common';
import { GraphQLModule } from '@nestjs/graphql';
import { AppController } from './app.controller.js';
import { AppService } from './app.service.js';
import { HelloResolver } from './hello.resolver.js';

@Module({
  imports: [GraphQLModule.forRoot<ApolloDriverConfig>({ driver: ApolloDriver, autoSchemaFile: true })],
  controllers: [AppController],
  providers: [AppService, HelloResolver],
})
export class AppModule {}
`,
};

/** A gateway app on the \`ws\` platform: one message handler, Nest's own WsAdapter in main.ts. */
const GATEWAY_APP = {
  'src/echo.gateway.ts': `import { MessageBody, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';

@WebSocketGateway({ path: '/live' })
export class EchoGateway {
  @SubscribeMessage('echo')
  echo(@MessageBody() data: unknown) {
    return { event: 'echo', data };
  }
}
`,
  'src/app.module.ts': `import { Module } from '@nestjs/common';
import { AppController } from './app.controller.js';
import { AppService } from './app.service.js';
import { EchoGateway } from './echo.gateway.js';

@Module({
  imports: [],
  controllers: [AppController],
  providers: [AppService, EchoGateway],
})
export class AppModule {}
`,
  'src/main.ts': `import { NestFactory } from '@nestjs/core';
import { WsAdapter } from '@nestjs/platform-ws';
import { AppModule } from './app.module.js';

async function bootstrap() {
  const app = await NestFactory.create(AppModule);
  app.useWebSocketAdapter(new WsAdapter(app));
  await app.listen(process.env.PORT ?? 3000);
}
await bootstrap();
`,
};

/**
 * Mints a token the way the app's own tests would (mintTestToken, from the installed package), in a
 * process of its own that loads the built AppModule with the same key as the running app.
 */
const MINT = `import { NestFactory } from '@nestjs/core';
import { mintTestToken } from 'nestjs-zero-trust';
import { AppModule } from './dist/app.module.js';

const app = await NestFactory.create(AppModule, { logger: false });
if (process.env.MINT_WS) app.useWebSocketAdapter(new (await import('@nestjs/platform-ws')).WsAdapter(app));
await app.init();
process.stdout.write(await mintTestToken(app, { subject: process.argv[2] }));
await app.close();
`;

function write(app: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) writeFileSync(join(app, path), content);
}

const port = () => 40000 + Math.floor(Math.random() * 2000);

/**
 * `nest add nestjs-zero-trust` on apps that serve GraphQL and WebSockets, as a user has them: made by the
 * real `nest new`, with @nestjs/graphql + Apollo (code first) or a `ws` gateway, the package from the
 * tarball under test through the local registry. The two apps share one install (the second is a copy
 * of the first before their own code is written); each is added to, built and booted.
 */
describe('nest add on a GraphQL app and on a gateway app (real Nest CLI, packed package)', () => {
  // Made in beforeAll: a filtered run that skips this file's tests leaves no folder behind.
  let work = '';
  let graphqlApp = '';
  let gatewayApp = '';
  const children: ChildProcess[] = [];
  const privateKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  let registry: LocalRegistry;
  let env: NodeJS.ProcessEnv;
  const added: Record<string, string> = {};
  const booted: Record<'graphql' | 'gateway', { port: number; output: () => string }> = {} as never;
  const tokens: Record<'graphql' | 'gateway', string> = {} as never;
  /** A socket opened without a token as soon as the gateway app is up: what it received, and how it was closed. */
  const anonymous = { messages: [] as string[], closed: undefined as Promise<number> | undefined };

  /** `node dist/main.js`, resolved once it answers HTTP; its output so far with it. */
  async function boot(cwd: string): Promise<{ port: number; output: () => string }> {
    const listen = port();
    const child = spawn(process.execPath, ['dist/main.js'], { cwd, env: { ...env, PORT: String(listen) }, stdio: 'pipe' });
    children.push(child);
    let output = '';
    child.stdout?.on('data', (chunk) => (output += chunk));
    child.stderr?.on('data', (chunk) => (output += chunk));
    for (let attempt = 0; attempt < 150; attempt++) {
      if (child.exitCode !== null) throw new Error(`${cwd}: exited with ${child.exitCode}:\n${plain(output)}`);
      if (await fetch(`http://127.0.0.1:${listen}/`).catch(() => undefined)) return { port: listen, output: () => plain(output) };
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`${cwd}: no answer on port ${listen}:\n${plain(output)}`);
  }

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'zt-nest-add-graphql-'));
    graphqlApp = join(work, 'graphql-app');
    gatewayApp = join(work, 'gateway-app');
    registry = await startLocalRegistry(packedTarball());
    env = {
      ...process.env,
      NODE_ENV: 'development',
      ZT_JWT_PRIVATE_KEY: privateKey,
      npm_config_registry: registry.url,
      npm_config_update_notifier: 'false',
      npm_config_fund: 'false',
      npm_config_audit: 'false',
      // Cached metadata is used as it is (this package's own is never cached: the local registry sends it no-store).
      npm_config_prefer_offline: 'true',
    };
    const cli = [join(root, 'node_modules/.bin')];
    await run('nest new graphql-app --package-manager npm --skip-git --skip-install', work, env, cli);
    // One install for both apps: nest new's dependencies and the GraphQL and WebSocket packages.
    await run(`npm install ${extras()}`, graphqlApp, env);
    cpSync(graphqlApp, gatewayApp, { recursive: true, verbatimSymlinks: true });
    write(graphqlApp, GRAPHQL_APP);
    write(gatewayApp, GATEWAY_APP);
    const bin = (app: string) => [join(app, 'node_modules/.bin')];
    [added.graphql, added.gateway] = await Promise.all([graphqlApp, gatewayApp].map((app) => run('nest add nestjs-zero-trust', app, env, bin(app))));
    // What the boot check then asks of the developer, done for one query: `me` gets its rule, `hello` stays without one.
    const resolver = readFileSync(join(graphqlApp, 'src/hello.resolver.ts'), 'utf8')
      .replace("import { Query, Resolver } from '@nestjs/graphql';", "import { Query, Resolver } from '@nestjs/graphql';\nimport { Authenticated, CurrentUser } from 'nestjs-zero-trust';")
      .replace("  @Query(() => String)\n  me(): string {\n    return 'me';", "  @Authenticated()\n  @Query(() => String)\n  me(@CurrentUser() user: { subject: string }): string {\n    return user.subject;");
    writeFileSync(join(graphqlApp, 'src/hello.resolver.ts'), resolver);
    for (const app of [graphqlApp, gatewayApp]) writeFileSync(join(app, 'mint.mjs'), MINT);
    await Promise.all([graphqlApp, gatewayApp].map((app) => run('npm run build', app, env)));
    // Both apps booted, and a token for each minted, at the same time.
    [booted.graphql, booted.gateway, tokens.graphql, tokens.gateway] = await Promise.all([
      boot(graphqlApp),
      boot(gatewayApp),
      run('node mint.mjs graphql-user', graphqlApp, env).then((token) => token.trim()),
      run('MINT_WS=1 node mint.mjs gateway-user', gatewayApp, env).then((token) => token.trim()),
    ]);
    // Its authentication time (10 s by default) runs while the GraphQL tests do.
    const socket = new WebSocket(`ws://127.0.0.1:${booted.gateway.port}/live`);
    socket.on('message', (raw) => anonymous.messages.push(String(raw)));
    anonymous.closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send(JSON.stringify({ event: 'echo', data: { text: 'anyone?' } }));
  }, 600_000);

  afterAll(async () => {
    for (const child of children) child.kill();
    await registry?.close();
    // rm -rf: two node_modules trees, far quicker than rmSync's walk.
    if (work) await new Promise((resolve) => execFile('rm', ['-rf', work], resolve));
  }, 120_000);

  describe('a GraphQL app (Apollo, code first)', () => {
    let app: { port: number; output: () => string };
    const graphql = async (query: string, token?: string) => {
      const response = await fetch(`http://127.0.0.1:${app.port}/graphql`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query }),
      });
      return (await response.json()) as { data?: Record<string, unknown> | null; errors?: Array<{ message: string; extensions?: { code?: string } }> };
    };

    beforeAll(async () => {
      expect(added.graphql).toContain('every route now needs a valid access token');
      expect(readFileSync(join(graphqlApp, 'src/app.module.ts'), 'utf8')).toMatch(/imports: \[\s*ZeroTrustModule\.forRootAsync\(\{ useFactory: \(\) => zeroTrustOptions\(\) \}\),\s*GraphQLModule\.forRoot/);
      app = booted.graphql;
    });

    it('refuses a query without a token: UNAUTHENTICATED, and no data', async () => {
      for (const query of ['{ me }', '{ hello }']) {
        const answer = await graphql(query);
        expect(answer.data ?? null, query).toBeNull();
        expect(answer.errors?.map((error) => error.extensions?.code), query).toEqual(['UNAUTHENTICATED']);
      }
    });

    it('lists the query without a rule at boot, and not the one with @Authenticated()', () => {
      expect(app.output()).toMatch(/declare no authorization rule[\s\S]*Query hello/);
      expect(app.output()).not.toMatch(/Query me\b/);
    });

    it('answers the @Authenticated() query with a token minted by mintTestToken', async () => {
      const token = tokens.graphql;
      expect(token.split('.')).toHaveLength(3);
      expect(await graphql('{ me }', token)).toEqual({ data: { me: 'graphql-user' } });
      expect(await graphql('{ me }', `${token.slice(0, -4)}AAAA`)).toMatchObject({ errors: [{ extensions: { code: 'UNAUTHENTICATED' } }] });
    });
  });

  describe('a gateway app (ws)', () => {
    let app: { port: number; output: () => string };
    const open = (token?: string) => new WebSocket(`ws://127.0.0.1:${app.port}/live`, { headers: token ? { Authorization: `Bearer ${token}` } : {} });

    beforeAll(async () => {
      expect(readFileSync(join(gatewayApp, 'src/main.ts'), 'utf8')).toContain("app.useWebSocketAdapter(await zeroTrustWebSocketAdapter(app, { library: 'ws', allowedOrigins:");
      expect(added.gateway).toContain('src/main.ts uses zeroTrustWebSocketAdapter');
      app = booted.gateway;
    });

    it('refuses the handshake of a token it did not sign (401), and of a foreign browser origin (403)', async () => {
      const status = (socket: WebSocket) =>
        new Promise<number | 'open'>((resolve) => {
          socket.once('open', () => resolve('open'));
          socket.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
        });
      expect(await status(open('not.a.token'))).toBe(401);
      expect(await status(new WebSocket(`ws://127.0.0.1:${app.port}/live`, { headers: { Authorization: `Bearer ${tokens.gateway}`, Origin: 'https://evil.example' } }))).toBe(403);
    });

    it('serves a socket opened with a minted token, and closes one that never presents a token, having answered nothing', async () => {
      const signedIn = open(tokens.gateway);
      const answered = new Promise<unknown>((resolve) => signedIn.on('message', (raw) => resolve(JSON.parse(String(raw)))));
      await new Promise((resolve) => signedIn.once('open', resolve));
      signedIn.send(JSON.stringify({ event: 'echo', data: { text: 'hi' } }));
      expect(await answered).toEqual({ event: 'echo', data: { text: 'hi' } });
      signedIn.close();
      // The socket opened without a token (beforeAll) is closed by the server once its authentication time
      // is up: 4401. Its message got the gateway's generic error at most, never the handler's answer.
      expect(await anonymous.closed).toBe(4401);
      expect(anonymous.messages.map((message) => (JSON.parse(message) as { event: string }).event).filter((event) => event !== 'exception')).toEqual([]);
    }, 30_000);
  });
});

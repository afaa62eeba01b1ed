import { chain, type Rule, type SchematicContext, type Tree } from '@angular-devkit/schematics';
import { NodePackageInstallTask } from '@angular-devkit/schematics/tasks/index.js';
import { posix } from 'node:path';
import { addToModuleImports } from '../utils/module-editor.js';
import { addDependencies, ownManifest } from '../utils/package-json.js';

export interface NestAddOptions {
  sourceRoot?: string;
  module?: string;
  authorization?: 'report' | 'strict';
  skipInstall?: boolean;
}

const CONFIG_FILE = 'zero-trust.config.ts';

/**
 * `nest add nestjs-zero-trust`: wires ZeroTrustModule into an existing app. Everything it writes is
 * checked first, so running it twice changes nothing. Existing apps start in `report` authorization
 * mode: the first boot lists the routes that need a rule instead of refusing to start.
 */
export function nestAdd(options: NestAddOptions): Rule {
  const sourceRoot = posix.normalize(options.sourceRoot ?? 'src').replace(/\/$/, '');
  const root = posix.dirname(sourceRoot);
  return chain([
    addModule(sourceRoot, options.module ?? 'app.module.ts'),
    writeConfig(sourceRoot, options.authorization ?? 'report'),
    writeEnvExample(root),
    addPackages(root),
    (_tree: Tree, context: SchematicContext) => {
      if (!options.skipInstall) context.addTask(new NodePackageInstallTask({ workingDirectory: root }));
      context.logger.info(
        [
          'nestjs-zero-trust: every route now needs a valid access token unless marked @Public().',
          `Configure it in ${posix.join(sourceRoot, CONFIG_FILE)} (issuer, audience, keys from ZT_* variables; see .env.example).`,
          'Without ZT_JWT_PRIVATE_KEY it runs on an ephemeral key in development and refuses to start in production.',
          'At the first boot it lists the routes that declare no authorization rule: give each @Authenticated(),',
          '@Scopes(), @OwnsResource() or @Public(), then set ZT_AUTHORIZATION=strict.',
        ].join('\n'),
      );
    },
  ]);
}

function addModule(sourceRoot: string, moduleFile: string): Rule {
  return (tree: Tree, context: SchematicContext) => {
    const path = posix.join(sourceRoot, moduleFile);
    const source = tree.read(path)?.toString('utf8') ?? '';
    // An app made by CLI 12 is ESM with `.js` import suffixes; follow whatever style the module uses.
    const suffix = /from\s+['"]\.{1,2}\/[^'"]+\.js['"]/.test(source) ? '.js' : '';
    const changed = addToModuleImports(
      tree,
      path,
      [
        { symbol: 'ZeroTrustModule', declaration: "import { ZeroTrustModule } from 'nestjs-zero-trust';" },
        { symbol: 'zeroTrustOptions', declaration: `import { zeroTrustOptions } from './${CONFIG_FILE.replace(/\.ts$/, '')}${suffix}';` },
      ],
      'ZeroTrustModule.forRootAsync({ useFactory: () => zeroTrustOptions() })',
    );
    if (!changed) context.logger.info(`${path} already imports ZeroTrustModule: left as it is.`);
  };
}

function writeConfig(sourceRoot: string, authorization: 'report' | 'strict'): Rule {
  return (tree: Tree) => {
    const path = posix.join(sourceRoot, CONFIG_FILE);
    if (tree.exists(path)) return;
    tree.create(
      path,
      `import type { ZeroTrustModuleOptions } from 'nestjs-zero-trust';

/**
 * nestjs-zero-trust configuration, from the environment (see .env.example).
 * Without ZT_JWT_PRIVATE_KEY the module signs with an ephemeral key in development (with a warning)
 * and refuses to start in production.
 */
export function zeroTrustOptions(env: NodeJS.ProcessEnv = process.env): ZeroTrustModuleOptions {
  const production = env.NODE_ENV === 'production';
  if (production && (!env.ZT_ISSUER || !env.ZT_AUDIENCE)) {
    throw new Error('Set ZT_ISSUER and ZT_AUDIENCE in production (see .env.example).');
  }
  const privateKey = env.ZT_JWT_PRIVATE_KEY?.replace(/\\\\n/g, '\\n');
  const trustProxy = env.ZT_TRUST_PROXY;
  return {
    issuer: env.ZT_ISSUER ?? 'http://localhost:3000',
    audience: env.ZT_AUDIENCE ?? 'api',
    keys: privateKey ? [{ kid: env.ZT_JWT_KID ?? 'main', alg: 'ES256', privateKey }] : undefined,
    // 'report' lists routes without an authorization rule at boot; 'strict' refuses to start with any.
    authorization: (env.ZT_AUTHORIZATION as 'report' | 'strict' | undefined) ?? '${authorization}',
    // Largest request body, in bytes (larger ones get 413).
    bodyLimit: Number(env.ZT_BODY_LIMIT ?? 102400),
    // Proxies whose X-Forwarded-For to believe: a hop count ("1") or their addresses/CIDRs ("10.0.0.0/8,...").
    trustProxy: !trustProxy ? undefined : /^\\d+$/.test(trustProxy) ? Number(trustProxy) : trustProxy.split(',').map((part) => part.trim()),
    redis: env.REDIS_URL || undefined,
  };
}
`,
    );
  };
}

const ENV_EXAMPLE = `
# nestjs-zero-trust (no real secret belongs in this file)
# Generate a signing key: openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256
# and put the PEM in ZT_JWT_PRIVATE_KEY (with \\n for line breaks) through your secret manager.
ZT_ISSUER=http://localhost:3000
ZT_AUDIENCE=api
ZT_JWT_PRIVATE_KEY=
ZT_JWT_KID=main
ZT_AUTHORIZATION=report
ZT_BODY_LIMIT=102400
ZT_TRUST_PROXY=
REDIS_URL=
`;

function writeEnvExample(root: string): Rule {
  return (tree: Tree) => {
    const path = posix.join(root, '.env.example');
    const current = tree.read(path)?.toString('utf8');
    if (current === undefined) tree.create(path, ENV_EXAMPLE.trimStart());
    else if (!current.includes('ZT_ISSUER=')) tree.overwrite(path, `${current.replace(/\n*$/, '\n')}${ENV_EXAMPLE}`);
  };
}

function addPackages(root: string): Rule {
  return (tree: Tree, context: SchematicContext) => {
    const own = ownManifest();
    const peers = own.peerDependencies;
    const added = addDependencies(tree, posix.join(root, 'package.json'), {
      [own.name]: `^${own.version}`,
      '@nestjs/passport': peers['@nestjs/passport'],
      '@nestjs/throttler': peers['@nestjs/throttler'],
      passport: '^0.7.0',
      'class-validator': peers['class-validator'],
      'class-transformer': peers['class-transformer'],
    });
    if (added.length) context.logger.info(`Added to package.json: ${added.join(', ')}`);
  };
}

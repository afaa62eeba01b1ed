import { execFileSync, spawnSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { builtPackage } from '../package/built-package.js';
import { bashBlocksOf, commandLinesOf, everyBashBlock, readme, root, sectionOf } from './readme-commands.js';

const endToEnd = readFileSync(join(root, 'test/package/packed-install.spec.ts'), 'utf8');

/** The commands of a block, continuation lines joined (`a \` + `b` is one command `a b`). */
function commandsOf(block: string): string[] {
  return commandLinesOf(block.replace(/\\\n\s*/g, ''));
}

/** The README's list of commands CI cannot run, each with its reason: the first cell's `code` spans. */
function documentedExceptions(): string[] {
  const table = sectionOf('## Try the sample').split('| Command | Why no test runs it as written |')[1] ?? '';
  return table
    .split('\n')
    .filter((row) => row.startsWith('| `'))
    .flatMap((row) => {
      const [command, ...reason] = row.slice(2).split(' | ');
      expect(reason.join(' | ').replace(/\s*\|$/, '').length, `a reason for ${command}`).toBeGreaterThan(20);
      return [...command.matchAll(/`([^`]+)`/g)].map((match) => match[1]);
    });
}

/** Commands this file runs, exactly as the README writes them (below). */
const RUN_HERE = [
  'openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256',
  'openssl rand -base64 48',
  'openssl rand -base64 32',
  'npx nestjs-zero-trust-role-migration --owner-role app_owner --runtime-role app_runtime --rls Note::notes:admin --append-only AuditLog --out src/migrations',
];

/** Blocks run whole, as bash scripts, by try-the-sample.e2e.spec.ts. */
const RUN_BY_SAMPLE_TEST = [...bashBlocksOf('## Try the sample'), bashBlocksOf('### Machine clients and API keys')[1]];

describe('README: every command is run by a test, or listed with the reason it cannot be', () => {
  const exceptions = documentedExceptions();
  const covered = (command: string) =>
    RUN_HERE.includes(command) || endToEnd.includes(`'${command}'`) || exceptions.some((exception) => command === exception || command.startsWith(exception));

  it('lists the exceptions (a reworded heading or table would check nothing)', () => {
    expect(exceptions.length).toBeGreaterThan(10);
  });

  it.each(everyBashBlock().map(({ heading, block }) => [heading, block] as const))('%s: each command of the block', (_heading, block) => {
    if (RUN_BY_SAMPLE_TEST.includes(block)) {
      // Run whole by the sample test but for `npm ci && npm start`, which is in the exceptions.
      for (const command of commandsOf(block).filter((command) => command.startsWith('npm '))) expect(covered(command), command).toBe(true);
      return;
    }
    for (const command of commandsOf(block)) expect(covered(command), `\`${command}\` is run by no test and not in the README's exceptions`).toBe(true);
  });

  it('each inline command (`openssl …`, `npx …`, `npm …`, `curl …`) presented to run', () => {
    const inline = new Set([...readme.matchAll(/`((?:openssl|npx|npm|curl) [^`\n]+)`/g)].map((match) => match[1]));
    expect(inline.size).toBeGreaterThan(10);
    const uncovered = [...inline].filter((command) => !covered(command) && !endToEnd.includes(command));
    expect(uncovered).toEqual([]);
  });
});

describe('README: the key-generation commands, as written', () => {
  it('`openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256` makes the PKCS#8 P-256 key ZT_JWT_PRIVATE_KEY takes', () => {
    expect(readme).toContain('`openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`');
    const [command, ...args] = RUN_HERE[0].split(' ');
    const pem = execFileSync(command, args, { encoding: 'utf8' });
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const key = createPrivateKey(pem);
    expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
  });

  it.each([
    ['openssl rand -base64 48', 48],
    ['openssl rand -base64 32', 32],
  ])('`%s` prints %d random bytes in base64', (line, bytes) => {
    expect(readme).toContain(`\`${line}\``);
    const [command, ...args] = line.split(' ');
    const first = execFileSync(command, args, { encoding: 'utf8' }).trim();
    const second = execFileSync(command, args, { encoding: 'utf8' }).trim();
    expect(Buffer.from(first, 'base64')).toHaveLength(bytes);
    expect(first).not.toBe(second);
  });
});

describe('README: Least privilege in the database, the role-migration command', () => {
  const work = mkdtempSync(join(tmpdir(), 'zt-readme-role-migration-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('writes the migration the README says, from the installed package bin, run with npx', () => {
    const command = commandsOf(bashBlocksOf('### Least privilege in the database')[0])[0];
    expect(command).toBe(RUN_HERE[3]);
    // A project with the package installed: its bin linked as npm links it.
    const built = builtPackage();
    const bin = join(work, 'node_modules/.bin');
    mkdirSync(bin, { recursive: true });
    symlinkSync(built, join(work, 'node_modules/nestjs-zero-trust'));
    // npm's bin shim: the built file is not marked executable in the shared build folder.
    writeFileSync(join(bin, 'nestjs-zero-trust-role-migration'), `#!/bin/sh\nexec "${process.execPath}" "${join(built, 'dist/cli/role-migration.js')}" "$@"\n`, { mode: 0o755 });
    const result = spawnSync('bash', ['-c', command], { cwd: work, encoding: 'utf8', env: { ...process.env, npm_config_offline: 'true' } });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^CREATE src\/migrations\/\d+-least-privilege\.migration\.ts \(LeastPrivilege\d+\): add it to your DataSource's migrations\.$/m);
    const [file] = readdirSync(join(work, 'src/migrations'));
    const source = readFileSync(join(work, 'src/migrations', file), 'utf8');
    expect(source).toContain('app_owner');
    expect(source).toContain('app_runtime');
    expect(source).toMatch(/AuditLog|audit_log/);
  }, 900_000);
});

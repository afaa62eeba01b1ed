import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync, readdirSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A PostgreSQL server of the test's own, on a free port, in a temporary directory: tests that need a
 * whole server to themselves (every other database locked down, TLS on) start one instead of changing
 * the machine's shared server. Started from the Debian binaries as the `postgres` system user when the
 * tests run as root (PostgreSQL refuses to run as root).
 */
export interface PrivatePostgres {
  port: number;
  /** An address of this machine that is not loopback (the server listens there too). */
  externalHost: string;
  /** The CA that signed the server's certificate (when started with TLS). */
  caFile?: string;
  url(options?: { host?: string; user?: string; password?: string; database?: string; query?: string }): string;
  stop(): void;
}

function binDir(): string {
  const configured = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  if (configured.status === 0 && configured.stdout.trim()) {
    const dir = configured.stdout.trim();
    if (readdirSync(dir).includes('initdb')) return dir;
  }
  const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
  if (versions.length === 0) throw new Error('PostgreSQL server binaries (initdb, pg_ctl) are needed for this test.');
  return join('/usr/lib/postgresql', versions[0], 'bin');
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export function externalAddress(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) if (address.family === 'IPv4' && !address.internal) return address.address;
  }
  throw new Error('this test needs a non-loopback IPv4 address on the machine (the PostgreSQL server listens there).');
}

export async function startPrivatePostgres(options: { tls?: boolean } = {}): Promise<PrivatePostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'zt-pg-'));
  const data = join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  const run = (command: string, args: string[]) => {
    const full = asRoot ? ['-u', 'postgres', '--', command, ...args] : args;
    execFileSync(asRoot ? 'runuser' : command, full, { stdio: 'pipe' });
  };
  if (asRoot) chownSync(dir, Number(execFileSync('id', ['-u', 'postgres']).toString()), Number(execFileSync('id', ['-g', 'postgres']).toString()));
  const bin = binDir();
  const port = await freePort();
  const externalHost = externalAddress();
  run(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '--no-instructions', '-E', 'UTF8']);
  let caFile: string | undefined;
  const conf = [
    `port = ${port}`,
    `listen_addresses = '127.0.0.1,${externalHost}'`,
    `unix_socket_directories = '${dir}'`,
    'fsync = off',
    'synchronous_commit = off',
    'full_page_writes = off',
    'max_connections = 40',
    "shared_buffers = '16MB'",
  ];
  if (options.tls) {
    caFile = join(dir, 'ca.crt');
    const ssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    ssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=zt-test-ca']);
    ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', `/CN=${externalHost}`]);
    writeFileSync(join(dir, 'san.ext'), `subjectAltName=IP:${externalHost},IP:127.0.0.1,DNS:localhost\n`);
    ssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'san.ext']);
    if (asRoot) execFileSync('chown', ['postgres:postgres', join(dir, 'server.key'), join(dir, 'server.crt')]);
    execFileSync('chmod', ['600', join(dir, 'server.key')]);
    conf.push('ssl = on', `ssl_cert_file = '${join(dir, 'server.crt')}'`, `ssl_key_file = '${join(dir, 'server.key')}'`);
  }
  appendFileSync(join(data, 'postgresql.conf'), `\n${conf.join('\n')}\n`);
  appendFileSync(join(data, 'pg_hba.conf'), '\nhost all all 0.0.0.0/0 trust\n');
  run(join(bin, 'pg_ctl'), ['-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start']);
  return {
    port,
    externalHost,
    caFile,
    url({ host = '127.0.0.1', user = 'postgres', password, database = 'postgres', query } = {}) {
      const auth = password ? `${encodeURIComponent(user)}:${encodeURIComponent(password)}` : encodeURIComponent(user);
      return `postgres://${auth}@${host}:${port}/${database}${query ? `?${query}` : ''}`;
    },
    stop() {
      try {
        run(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

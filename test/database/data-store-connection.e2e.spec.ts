import 'reflect-metadata';
import { Logger, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Redis } from 'ioredis';
import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { ZeroTrustModule } from 'nestjs-zero-trust';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DataStoreConnectionCheck, isLoopback } from '../../lib/database/data-store-connection.check.js';
import { startPrivatePostgres, type PrivatePostgres } from './private-postgres.js';

const REDIS_PASSWORD = randomBytes(12).toString('hex');
const TIMEOUTS = { statement_timeout: 5000, query_timeout: 6000, connectionTimeoutMillis: 2000, idle_in_transaction_session_timeout: 10000 };

describe('DataStoreConnectionCheck decisions', () => {
  it('treats loopback addresses and Unix sockets as never leaving the machine', () => {
    for (const host of ['localhost', '127.0.0.1', '127.8.9.10', '::1', '[::1]', '/var/run/postgresql', undefined]) expect(isLoopback(host)).toBe(true);
    for (const host of ['db', '10.0.0.5', 'postgres.internal', '192.0.2.2', '::ffff:10.0.0.1']) expect(isLoopback(host)).toBe(false);
  });

  it.each([
    ['no TLS to another host', { host: 'db.internal', ssl: false }, /PostgreSQL at "db.internal" is reached without TLS\. Fix: add sslmode=verify-full&sslrootcert=/],
    ['TLS without certificate verification (sslmode=no-verify)', { host: '10.0.0.5', ssl: { rejectUnauthorized: false } }, /does not verify the certificate/],
    ['TLS that skips the host name (verify-ca)', { host: '10.0.0.5', ssl: { checkServerIdentity() {} } }, /does not verify the host name/],
  ])('names PostgreSQL with %s', (_case, facts, problem) => {
    expect(DataStoreConnectionCheck.postgresProblem(facts)).toMatch(problem);
  });

  it('accepts verified TLS to another host, and anything on loopback', () => {
    expect(DataStoreConnectionCheck.postgresProblem({ host: 'db.internal', ssl: {} })).toBeUndefined();
    expect(DataStoreConnectionCheck.postgresProblem({ host: 'db.internal', ssl: true })).toBeUndefined();
    expect(DataStoreConnectionCheck.postgresProblem({ host: '127.0.0.1', ssl: false })).toBeUndefined();
  });

  it.each([
    ['redis:// to another host', { host: 'cache.internal' }, /Redis at "cache.internal" is reached without TLS\. Fix: a rediss:\/\/ URL/],
    ['TLS that does not verify', { host: 'cache.internal', tls: { rejectUnauthorized: false } }, /does not verify the certificate/],
  ])('names Redis with %s', (_case, facts, problem) => {
    expect(DataStoreConnectionCheck.redisProblem(facts)).toMatch(problem);
  });

  it('accepts rediss://, loopback and Unix sockets for Redis', () => {
    expect(DataStoreConnectionCheck.redisProblem({ host: 'cache.internal', tls: {} })).toBeUndefined();
    expect(DataStoreConnectionCheck.redisProblem({ host: 'localhost' })).toBeUndefined();
    expect(DataStoreConnectionCheck.redisProblem({ host: 'cache.internal', path: '/run/redis.sock' })).toBeUndefined();
  });

  it('names a PostgreSQL pool without statement and acquire timeouts', () => {
    expect(DataStoreConnectionCheck.missingTimeouts({})).toEqual(['statement_timeout or query_timeout', 'connectionTimeoutMillis']);
    expect(DataStoreConnectionCheck.missingTimeouts(TIMEOUTS)).toEqual([]);
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * The boot check against a PostgreSQL and a Redis of the test's own with TLS on, reached through a
 * non-loopback address of this machine (as an app reaches a database on the internal network).
 */
describe('transport security at boot, against TLS-enabled servers of the test\'s own', () => {
  let server: PrivatePostgres;
  let redis: ChildProcess | undefined;
  let redisPort: number;
  const privateKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;

  async function boot(options: { url: string; environment: string; extra?: object; store?: unknown }) {
    let servedOver: unknown;
    @Module({
      imports: [
        ZeroTrustModule.forRoot({
          issuer: 'https://issuer.test',
          audience: 'transport',
          environment: options.environment,
          auditSinks: [],
          databasePrivileges: 'off',
          ...(options.store ? { store: options.store as never } : {}),
          keys: [{ kid: 'k1', alg: 'ES256', privateKey }],
        }),
        TypeOrmModule.forRoot({ type: 'postgres', url: options.url, retryAttempts: 0, extra: options.extra ?? TIMEOUTS }),
      ],
    })
    class TransportModule {}
    const app = await NestFactory.create(TransportModule, { logger: false, abortOnError: false });
    try {
      await app.init();
      servedOver = (await app.get(DataSource).query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()'))[0].ssl;
    } finally {
      await app.close();
    }
    return servedOver;
  }

  beforeAll(async () => {
    server = await startPrivatePostgres({ tls: true });
    redisPort = await freePort();
    const dir = server.caFile!.replace(/ca\.crt$/, '');
    redis = spawn(
      'redis-server',
      ['--port', '0', '--tls-port', String(redisPort), '--bind', server.externalHost, '--tls-cert-file', `${dir}server.crt`, '--tls-key-file', `${dir}server.key`,
        '--tls-ca-cert-file', server.caFile!, '--tls-auth-clients', 'no', '--requirepass', REDIS_PASSWORD, '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
  });

  afterAll(async () => {
    redis?.kill();
    server?.stop();
  });

  it('refuses in production a PostgreSQL connection to a non-loopback host without TLS, naming sslmode=verify-full', async () => {
    await expect(boot({ url: server.url({ host: server.externalHost, query: 'sslmode=disable' }), environment: 'production' })).rejects.toThrow(
      /PostgreSQL at "[\d.]+" is reached without TLS\. Fix: add sslmode=verify-full&sslrootcert=<CA file> to DATABASE_URL/,
    );
  });

  it('refuses in production TLS that does not verify the certificate (sslmode=no-verify)', async () => {
    await expect(boot({ url: server.url({ host: server.externalHost, query: 'sslmode=no-verify' }), environment: 'production' })).rejects.toThrow(
      /does not verify the certificate/,
    );
  });

  it('starts in production over verified TLS (sslmode=verify-full with the CA), and the session is encrypted', async () => {
    const url = server.url({ host: server.externalHost, query: `sslmode=verify-full&sslrootcert=${server.caFile}` });
    await expect(boot({ url, environment: 'production' })).resolves.toBe(true);
  });

  it('only warns outside production', async () => {
    const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      await expect(boot({ url: server.url({ host: server.externalHost, query: 'sslmode=disable' }), environment: 'development' })).resolves.toBe(false);
      expect(warn.mock.calls.flat().join('\n')).toMatch(/reached without TLS/);
    } finally {
      warn.mockRestore();
    }
  });

  it('warns when the PostgreSQL pool has no timeouts (a hung database would hold every request)', async () => {
    const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      await boot({ url: server.url(), environment: 'development', extra: {} });
      expect(warn.mock.calls.flat().join('\n')).toMatch(/the PostgreSQL pool has no statement_timeout or query_timeout and no connectionTimeoutMillis/);
    } finally {
      warn.mockRestore();
    }
  });

  it('refuses in production a Redis store reached over redis:// on the network, and starts with a verifying TLS client', async () => {
    const url = server.url({ host: server.externalHost, query: `sslmode=verify-full&sslrootcert=${server.caFile}` });
    await expect(boot({ url, environment: 'production', store: `redis://${server.externalHost}:${redisPort}` })).rejects.toThrow(
      /Redis at "[\d.]+" is reached without TLS\. Fix: a rediss:\/\/ URL/,
    );
    const insecure = new Redis({ host: server.externalHost, port: redisPort, tls: { rejectUnauthorized: false }, lazyConnect: true });
    await expect(boot({ url, environment: 'production', store: insecure })).rejects.toThrow(/Redis at .* does not verify the certificate/);
    insecure.disconnect();
    const client = new Redis({ host: server.externalHost, port: redisPort, password: REDIS_PASSWORD, tls: { ca: readFileSync(server.caFile!) }, retryStrategy: () => 100 });
    client.on('error', () => undefined);
    try {
      // A real TLS round trip with the CA verified (bounded wait for the server to listen), then the production boot with this client.
      for (let attempt = 0; client.status !== 'ready' && attempt < 50; attempt++) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await client.ping()).toBe('PONG');
      await expect(boot({ url, environment: 'production', store: client })).resolves.toBe(true);
    } finally {
      client.disconnect();
    }
  });
});

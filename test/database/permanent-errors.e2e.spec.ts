/**
 * Issue 18: a database error that no retry cures (a wrong password, a database that does not exist)
 * must stop the boot at the first attempt with PostgreSQL's own message and the variable to check,
 * not after seconds of "Unable to connect to the database. Retrying..." that hide it; an error a retry
 * may cure (nothing listening yet, a connection cut) is still retried. The sample's TypeOrmModule
 * options boot here against a PostgreSQL of the test's own that checks passwords (a shared server may
 * trust local logins, where a wrong password logs in), through a TCP proxy that counts connection attempts.
 */
import 'reflect-metadata';
import { type LoggerService, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule, type TypeOrmModuleAsyncOptions, type TypeOrmModuleOptions } from '@nestjs/typeorm';
import { randomBytes } from 'node:crypto';
import { type AddressInfo, createServer, type Server, Socket } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { requirePasswords } from './password-auth.js';
import { type PrivatePostgres, startPrivatePostgres } from './private-postgres.js';

// Before the sample is imported: its migration reads the (cluster-wide, so random) role names.
vi.hoisted(() => {
  const suffix = Math.random().toString(36).slice(2, 10);
  Object.assign(process.env, { ZT_DB_OWNER_ROLE: `zt_perm_owner_${suffix}`, ZT_DB_RUNTIME_ROLE: `zt_perm_app_${suffix}` });
});
const { databaseModuleOptions } = await import('../../sample/src/database/database.options.js');

/** Counts connections and forwards them to the server, or (`drop`) cuts each one at once. */
async function countingProxy(target: URL, mode: 'forward' | 'drop'): Promise<{ port: number; connections: () => number; close(): Promise<void> }> {
  let connections = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    connections += 1;
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    if (mode === 'drop') return void client.destroy();
    const upstream = new Socket();
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => client.destroy());
    upstream.connect(Number(target.port || 5432), target.hostname, () => {
      client.pipe(upstream);
      upstream.pipe(client);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => connections,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Nest's log, as one recorder: the retry messages of TypeOrmModule land here. */
const logged: string[] = [];
const recorder: LoggerService = {
  log: (message: unknown) => void logged.push(String(message)),
  error: (message: unknown) => void logged.push(String(message)),
  warn: (message: unknown) => void logged.push(String(message)),
  debug: () => undefined,
  verbose: () => undefined,
};
const retries = () => logged.filter((line) => line.startsWith('Unable to connect to the database')).length;

/**
 * Boots TypeOrmModule exactly as the sample's AppModule does, with one change: the delay between two
 * attempts is 10 ms instead of seconds (the number of attempts is what is asserted, not time).
 */
async function boot(env: NodeJS.ProcessEnv): Promise<unknown> {
  const options = databaseModuleOptions(env);
  const fast: TypeOrmModuleAsyncOptions = {
    ...options,
    useFactory: async (...args: unknown[]) => ({ ...((await options.useFactory!(...args)) as TypeOrmModuleOptions), retryDelay: 10 }),
  };
  @Module({ imports: [TypeOrmModule.forRootAsync(fast)] })
  class DatabaseOnly {}
  logged.length = 0;
  try {
    const app = await NestFactory.createApplicationContext(DatabaseOnly, { logger: recorder, abortOnError: false });
    await app.close();
    return undefined;
  } catch (error) {
    return error;
  }
}

describe('database errors at boot (the sample\'s TypeOrmModule options, PostgreSQL)', () => {
  const suffix = randomBytes(5).toString('hex');
  const role = `zt_perm_login_${suffix}`;
  const password = randomBytes(12).toString('hex');
  const database = `zt_perm_${suffix}`;
  const identityKey = randomBytes(48).toString('base64');
  let server: PrivatePostgres;
  let proxy: Awaited<ReturnType<typeof countingProxy>>;

  /** A URL of the role through the proxy. */
  const url = (options: { password?: string; database?: string } = {}) => {
    const result = new URL(server.url({ user: role, password: options.password ?? password, database: options.database ?? database }));
    result.port = String(proxy.port);
    return result.toString();
  };

  beforeAll(async () => {
    server = await startPrivatePostgres();
    await requirePasswords(server);
    const root = new pg.Client({ connectionString: server.url() });
    await root.connect();
    await root.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
    await root.query(`CREATE DATABASE ${database} OWNER ${role}`);
    await root.end();
    proxy = await countingProxy(new URL(server.url()), 'forward');
  });
  afterAll(async () => {
    await proxy?.close();
    server?.stop();
  });

  it('the proxy reaches the server: with the right password the boot gets past the login', async () => {
    const before = proxy.connections();
    // NODE_ENV production: the app serves without migrating, and connects once.
    const error = await boot({ DATABASE_URL: url(), NODE_ENV: 'production', ZT_RLS_IDENTITY_KEY: identityKey });
    expect(error).toBeUndefined();
    expect(proxy.connections() - before).toBeGreaterThan(0);
  });

  it('stops at the first attempt on a wrong password, with PostgreSQL\'s message and the variable to check', async () => {
    const before = proxy.connections();
    // Outside production the sample migrates at boot with DATABASE_URL when DATABASE_MIGRATION_URL is unset.
    const error = await boot({ DATABASE_URL: url({ password: 'wrong-password' }), NODE_ENV: 'development', ZT_RLS_IDENTITY_KEY: identityKey });
    expect(proxy.connections() - before).toBe(1);
    expect(retries()).toBe(0);
    expect((error as Error).message).toContain(`password authentication failed for user "${role}"`);
    expect((error as Error).message).toContain('check the password in DATABASE_URL');
    expect((error as Error).message).not.toContain('wrong-password');
  });

  it('stops at the first attempt on a database that does not exist (serving in production)', async () => {
    const before = proxy.connections();
    const error = await boot({ DATABASE_URL: url({ database: `${database}_missing` }), NODE_ENV: 'production', ZT_RLS_IDENTITY_KEY: identityKey });
    expect(proxy.connections() - before).toBe(1);
    expect(retries()).toBe(0);
    expect((error as Error).message).toContain(`database "${database}_missing" does not exist`);
    expect((error as Error).message).toContain('check the database name in DATABASE_URL');
  });

  it('names DATABASE_MIGRATION_URL when the migration login is the one that fails', async () => {
    const before = proxy.connections();
    const error = await boot({
      DATABASE_URL: url(),
      DATABASE_MIGRATION_URL: url({ database: `${database}_missing` }),
      NODE_ENV: 'development',
      ZT_RLS_IDENTITY_KEY: identityKey,
    });
    expect(proxy.connections() - before).toBe(1);
    expect((error as Error).message).toContain('check the database name in DATABASE_MIGRATION_URL');
  });

  it('retries a connection the server side cuts, as many times as the sample says', async () => {
    const dropping = await countingProxy(new URL(server.url()), 'drop');
    try {
      const error = await boot({ DATABASE_URL: url().replace(`:${proxy.port}/`, `:${dropping.port}/`), NODE_ENV: 'production', ZT_RLS_IDENTITY_KEY: identityKey });
      expect((error as Error).message).toMatch(/Connection terminated/);
      expect(dropping.connections()).toBe(2);
      expect(retries()).toBe(2);
    } finally {
      await dropping.close();
    }
  });

  it('retries a closed port, then says what to check', async () => {
    const closed = await countingProxy(new URL(server.url()), 'drop');
    const port = closed.port;
    await closed.close();
    const error = await boot({ DATABASE_URL: url().replace(`:${proxy.port}/`, `:${port}/`), NODE_ENV: 'production', ZT_RLS_IDENTITY_KEY: identityKey });
    expect(retries()).toBe(2);
    expect((error as { code?: string }).code).toBe('ECONNREFUSED');
    expect((error as Error).message).toContain('the host and port in DATABASE_URL');
  });
});

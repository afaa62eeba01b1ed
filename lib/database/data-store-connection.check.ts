import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { CORE_CONFIG } from '../core/core.internal-constants.js';
import type { CoreConfig } from '../core/core.options.js';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';
import { STORE_CONFIG } from '../store/store.internal-constants.js';
import type { StoreConfig } from '../store/store.options.js';
import { DataSourceRef } from './data-source.ref.js';
import { DATABASE_CONFIG } from './database.internal-constants.js';
import type { DatabaseConfig } from './database.options.js';

/** The connection settings node-postgres resolved (URL, `ssl` option, `PG*` variables, `extra`). */
export interface PostgresConnectionFacts {
  host?: string;
  ssl?: unknown;
  statement_timeout?: unknown;
  query_timeout?: unknown;
  connectionTimeoutMillis?: unknown;
  idle_in_transaction_session_timeout?: unknown;
}

/** What ioredis was given: a URL, or a client's `options`. */
export interface RedisConnectionFacts {
  host?: string;
  path?: string;
  tls?: unknown;
}

/** Loopback and Unix sockets never leave the machine; every other hop is a network an attacker may sit on. */
export function isLoopback(host: string | undefined): boolean {
  if (!host) return true;
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return bare.startsWith('/') || bare === 'localhost' || bare === '::1' || /^127\.\d+\.\d+\.\d+$/.test(bare);
}

/** Node's TLS verifies the chain and the host name unless told not to. */
function verificationGap(tls: unknown): string | undefined {
  if (!tls) return 'without TLS';
  if (typeof tls !== 'object') return undefined;
  const options = tls as { rejectUnauthorized?: unknown; checkServerIdentity?: unknown };
  if (options.rejectUnauthorized === false) return 'with TLS that does not verify the certificate (rejectUnauthorized: false, sslmode=no-verify)';
  // sslmode=verify-ca in libpq-compatible mode replaces the host-name check with a no-op.
  if (typeof options.checkServerIdentity === 'function' && options.checkServerIdentity.length === 0) return 'with TLS that does not verify the host name (verify-ca)';
  return undefined;
}

/**
 * "Encrypt all traffic, TLS even on internal networks": at boot, the app's PostgreSQL and Redis
 * connections are looked at. To any host but loopback they must use TLS that verifies the server's
 * certificate and name; in production the app refuses to start otherwise, elsewhere it warns. It also
 * warns when a PostgreSQL pool has no timeouts: a hung database would hold every request as long as it hangs.
 */
@Injectable()
export class DataStoreConnectionCheck implements OnApplicationBootstrap {
  private readonly logger = new Logger('ZeroTrustModule');

  constructor(
    private readonly dataSources: DataSourceRef,
    @Inject(DATABASE_CONFIG) private readonly config: DatabaseConfig,
    @Inject(STORE_CONFIG) private readonly store: StoreConfig,
    @Inject(CORE_CONFIG) private readonly core: CoreConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const postgres = await this.postgresFacts();
    if (postgres) {
      const missing = DataStoreConnectionCheck.missingTimeouts(postgres);
      if (missing.length > 0) {
        this.logger.warn(
          `the PostgreSQL pool has no ${missing.join(' and no ')}: a hung database holds every request as long as it hangs. ` +
            'Set them in the DataSource options, e.g. extra: { statement_timeout: 5000, query_timeout: 6000, connectionTimeoutMillis: 2000, idle_in_transaction_session_timeout: 10000 } (milliseconds).',
        );
      }
    }
    if (this.config.transportSecurity === 'off') return;
    const problems = [
      ...(postgres ? [DataStoreConnectionCheck.postgresProblem(postgres)] : []),
      DataStoreConnectionCheck.redisProblem(this.redisFacts()),
    ].filter((problem): problem is string => problem !== undefined);
    if (problems.length === 0) return;
    const message =
      `data-store traffic leaves the machine unprotected:\n${problems.map((line) => `  - ${line}`).join('\n')}\n` +
      'Set transportSecurity: "off" only if another layer you trust encrypts and authenticates it.';
    if (this.core.production) throw new ZeroTrustConfigurationError(message);
    this.logger.warn(`${message}\nIn production (NODE_ENV=production) the app refuses to start like this.`);
  }

  static postgresProblem(facts: PostgresConnectionFacts): string | undefined {
    if (isLoopback(facts.host)) return undefined;
    const gap = verificationGap(facts.ssl);
    if (!gap) return undefined;
    return (
      `PostgreSQL at "${facts.host}" is reached ${gap}. Fix: add sslmode=verify-full&sslrootcert=<CA file> to DATABASE_URL ` +
      '(or ssl: { ca } in the DataSource options), with a server certificate for that host name.'
    );
  }

  static redisProblem(facts: RedisConnectionFacts | undefined): string | undefined {
    if (!facts || facts.path || isLoopback(facts.host ?? 'localhost')) return undefined;
    const gap = verificationGap(facts.tls);
    if (!gap) return undefined;
    return (
      `Redis at "${facts.host}" is reached ${gap}. Fix: a rediss:// URL (REDIS_URL), with the server's CA trusted ` +
      '(NODE_EXTRA_CA_CERTS=<CA file>, or tls: { ca } on your ioredis client).'
    );
  }

  static missingTimeouts(facts: PostgresConnectionFacts): string[] {
    const missing: string[] = [];
    if (!facts.statement_timeout && !facts.query_timeout) missing.push('statement_timeout or query_timeout');
    if (!facts.connectionTimeoutMillis) missing.push('connectionTimeoutMillis');
    return missing;
  }

  /**
   * Asks node-postgres itself how it will connect (it merges the URL, `ssl`, `extra` and the `PG*`
   * variables), so the check reads what the driver does, not a second parser's guess.
   */
  private async postgresFacts(): Promise<PostgresConnectionFacts | undefined> {
    const dataSource = await this.dataSources.find();
    if (!dataSource || dataSource.options.type !== 'postgres') return undefined;
    // An embedded PGlite (a `driver` of its own) has no network and its own wait bound.
    if ((dataSource.options as { driver?: unknown }).driver !== undefined) return undefined;
    const driver = dataSource.driver as unknown as { postgres?: { Client?: new (options: object) => object }; master?: { options?: Record<string, unknown> } };
    const poolOptions = driver.master?.options;
    if (!poolOptions || !driver.postgres?.Client) return undefined;
    const client = new driver.postgres.Client(poolOptions) as { connectionParameters?: { host?: string; ssl?: unknown } };
    return { ...poolOptions, host: client.connectionParameters?.host, ssl: client.connectionParameters?.ssl };
  }

  private redisFacts(): RedisConnectionFacts | undefined {
    const choice = this.store.store;
    if (choice.kind === 'redis-url') {
      const url = new URL(choice.url);
      return { host: url.hostname || 'localhost', tls: url.protocol === 'rediss:' ? {} : undefined };
    }
    if (choice.kind === 'redis-client') {
      const options = (choice.client as { options?: RedisConnectionFacts }).options;
      return options ? { host: options.host, path: options.path, tls: options.tls } : undefined;
    }
    return undefined;
  }
}

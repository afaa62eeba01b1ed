import { EventEmitter } from 'node:events';
import { seconds } from '../core/option-schema.js';

/** The part of a PGlite instance the driver uses (so the package needs no PGlite import). */
export interface PGliteLike {
  query(sql: string, params?: unknown[]): Promise<{ rows: unknown[]; affectedRows?: number; fields?: unknown[] }>;
  exec(sql: string): Promise<Array<{ rows: unknown[]; affectedRows?: number; fields?: unknown[] }>>;
  close(): Promise<void>;
}

type Callback = (error: Error | null, result?: unknown) => void;

/**
 * A TypeORM `driver` for PGlite that hands its one session to one caller at a time. PGlite is a
 * single PostgreSQL session: a pool that shares it lets two requests' transactions interleave, so one
 * request's `set_config(..., true)` (the row-level-security user) or SET ROLE would apply to the
 * other's queries. Here a checkout waits for the previous one to be released; a caller that waits
 * longer than `waitTimeout` seconds gets an error instead of hanging (e.g. code that opens a second
 * connection while holding one).
 *
 * `driver: exclusivePGliteDriver(await PGlite.create(dataDir))` in the DataSource options (type `postgres`).
 */
/** What TypeORM's postgres driver needs from a `driver` option: a pg-like Pool class. */
export interface PGliteDriver {
  Pool: new () => EventEmitter & {
    connect(callback: (error: Error | null, connection?: unknown, release?: () => void) => void): void;
    query(sql: string, params?: unknown[]): Promise<unknown>;
    end(callback?: (error?: Error | null) => void): void;
  };
}

export function exclusivePGliteDriver(db: PGliteLike, options: { waitTimeout?: number; lock?: { release(): void } } = {}): PGliteDriver {
  const waitTimeoutMs = seconds({ min: 0.01, max: 600, default: 10 }).parse(options.waitTimeout, 'exclusivePGliteDriver().waitTimeout') * 1000;
  let tail: Promise<void> = Promise.resolve();

  /** Resolves with a release function once every earlier holder has released. */
  function acquire(): Promise<() => void> {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const previous = tail;
    tail = previous.then(() => released);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`PGlite stayed busy for ${waitTimeoutMs} ms: a query was started while another connection was held (PGlite has one session).`));
        // Keep the queue moving once our turn comes, since we will never use it.
        void previous.then(() => release());
      }, waitTimeoutMs);
      void previous.then(() => {
        clearTimeout(timer);
        let done = false;
        resolve(() => {
          if (!done) release();
          done = true;
        });
      });
    });
  }

  async function run(sql: string, params?: unknown[]) {
    const result =
      params && params.length > 0
        ? await db.query(sql, params)
        : // Several statements may come in one string; TypeORM expects the last result.
          ((await db.exec(sql)).at(-1) ?? { rows: [] });
    return { ...result, rowCount: result.affectedRows ?? result.rows.length };
  }

  class Connection extends EventEmitter {
    query(sql: string, params?: unknown[] | Callback, callback?: Callback) {
      const [values, done] = typeof params === 'function' ? [undefined, params] : [params, callback];
      const promise = run(sql, values);
      if (done) promise.then((result) => done(null, result), (error: Error) => done(error));
      return promise;
    }
  }

  class Pool extends EventEmitter {
    readonly connection = new Connection();

    connect(callback: (error: Error | null, connection?: Connection, release?: () => void) => void) {
      acquire().then(
        (release) => callback(null, this.connection, release),
        (error: Error) => callback(error),
      );
    }

    async query(sql: string, params?: unknown[]) {
      const release = await acquire();
      try {
        return await run(sql, params);
      } finally {
        release();
      }
    }

    end(callback?: (error?: Error | null) => void) {
      // The directory lock (DataDirectoryLock) outlives the database by a moment, never the reverse.
      db.close().then(
        () => {
          options.lock?.release();
          callback?.(null);
        },
        (error: Error) => callback?.(error),
      );
    }
  }

  return { Pool };
}

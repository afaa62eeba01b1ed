import { Logger } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import { closeSync, fsyncSync, openSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { oneOf, seconds } from '../core/option-schema.js';

/** The part of a PGlite instance the driver uses (so the package needs no PGlite import). */
export interface PGliteLike {
  query(sql: string, params?: unknown[]): Promise<{ rows: unknown[]; affectedRows?: number; fields?: unknown[] }>;
  exec(sql: string): Promise<Array<{ rows: unknown[]; affectedRows?: number; fields?: unknown[] }>>;
  close(): Promise<void>;
  /** PGlite's Emscripten module and file system: where the driver makes writes durable (see `durability`). */
  readonly Module?: unknown;
  readonly fs?: unknown;
  isInTransaction?(): boolean;
}

/** An open file of Emscripten's NODEFS: `nfd` is the host's file descriptor. */
interface NodeFsStream {
  nfd?: number;
  flags?: number;
  node?: unknown;
}
interface NodeFsOps {
  fsync?: (stream: NodeFsStream) => unknown;
  write: (stream: NodeFsStream, ...rest: unknown[]) => number;
  open: (stream: NodeFsStream) => void;
  close: (stream: NodeFsStream) => void;
}
interface NodeFsModule {
  NODEFS?: { stream_ops?: NodeFsOps; realPath?: (node: unknown) => string };
}

const O_CREAT = 64;
/** When this process started, less a margin for coarse file times. */
const PROCESS_START_MS = Date.now() - process.uptime() * 1000 - 2000;

/**
 * PGlite's start parameters with PostgreSQL's own durability back: PGlite starts PostgreSQL with `-F`
 * (fsync off), and its WASI layer makes `fdatasync` a no-op, so WAL is flushed with `fsync` instead.
 * `PGlite.create(dataDir, { startParams: durablePGliteStartParams(PGlite.defaultStartParams) })`, with
 * `exclusivePGliteDriver()`, which routes those fsyncs to the host (PGlite's NODEFS has no fsync of its own).
 */
export function durablePGliteStartParams(defaults: readonly string[]): string[] {
  return [...defaults.filter((parameter) => parameter !== '-F'), '-c', 'wal_sync_method=fsync'];
}

/**
 * Makes an on-disk PGlite's acknowledged writes survive a host crash (power loss, kernel panic), not
 * only a killed process. PGlite never calls fsync: its NODEFS has no fsync operation and it starts
 * PostgreSQL with fsync off, so a commit sits in the page cache until the kernel writes it back (up to
 * ~30 s on Linux). Here the host fsync is installed, then:
 * - started with `durablePGliteStartParams`: PostgreSQL fsyncs as it does on a server (WAL at each commit,
 *   data files at checkpoints, before old WAL is recycled);
 * - started with fsync off (PGlite's default): every file written since the last sync is fsynced after
 *   each statement that ends outside a transaction, before its result is returned (a warning says how to
 *   switch to the first mode, which also covers a crash in the middle of a checkpoint).
 * Returns what to run after each statement, or nothing (PostgreSQL syncs itself, or in memory).
 */
async function makeDurable(db: PGliteLike): Promise<{ root: string; afterStatement?: () => void } | undefined> {
  const module = db.Module as NodeFsModule | undefined;
  const ops = module?.NODEFS?.stream_ops;
  const root = (db.fs as { rootDir?: unknown } | undefined)?.rootDir;
  if (!module || !ops || typeof root !== 'string') return undefined;
  if (!ops.fsync) ops.fsync = (stream) => (stream.nfd === undefined ? 0 : fsyncSync(stream.nfd));
  const { rows } = await db.query('SHOW fsync');
  const fsyncOn = (rows[0] as { fsync?: unknown } | undefined)?.fsync === 'on';
  const afterStatement = fsyncOn ? undefined : trackWrites(db, module, ops);
  if (!fsyncOn) {
    new Logger('ZeroTrustModule').warn(
      'PGlite runs with fsync off: the driver fsyncs after each commit. Start it with ' +
        '`PGlite.create(dir, { startParams: durablePGliteStartParams(PGlite.defaultStartParams) })` so PostgreSQL syncs itself ' +
        '(also through checkpoints), or pass `durability: "relaxed"` to exclusivePGliteDriver to accept losing recent commits in a host crash.',
    );
  }
  // What PGlite wrote in this process before this point (initdb, recovery, the start-up checkpoint).
  syncTree(root, PROCESS_START_MS);
  return { root, afterStatement };
}

/**
 * fsync of every file and directory under `root` changed since `sinceMs`, children before their
 * directory. What an earlier process wrote it synced itself (at its commits, checkpoints and close);
 * what this one wrote before the driver's fsync was installed (initdb, recovery, the start-up
 * checkpoint) is what is left. Files not changed cost a stat, not an fsync (~2 ms each on a slow disk).
 */
function syncTree(root: string, sinceMs: number): void {
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    const path = join(root, entry.name);
    if (entry.isDirectory()) syncTree(path, sinceMs);
    else if (entry.isFile() && statSync(path).mtimeMs >= sinceMs) syncPath(path);
  }
  if (statSync(root).mtimeMs >= sinceMs) syncPath(root);
}

function syncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * PostgreSQL started with fsync off: the driver tracks what PGlite writes and fsyncs it after each
 * statement that commits (ends outside a transaction), files first, then the directories of new files.
 */
function trackWrites(db: PGliteLike, module: NodeFsModule, ops: NodeFsOps): () => void {
  const dirty = new Set<NodeFsStream>();
  const directories = new Set<string>();
  const { write, open, close } = ops;
  ops.write = function (stream, ...rest) {
    dirty.add(stream);
    return write.call(this, stream, ...rest);
  };
  ops.open = function (stream) {
    open.call(this, stream);
    const realPath = module.NODEFS?.realPath;
    if (((stream.flags ?? 0) & O_CREAT) !== 0 && realPath && stream.node) directories.add(dirname(realPath(stream.node)));
  };
  ops.close = function (stream) {
    // A file closed between two syncs (a finished WAL segment) is synced while its descriptor lives.
    if (dirty.delete(stream) && stream.nfd !== undefined) fsyncSync(stream.nfd);
    close.call(this, stream);
  };
  return () => {
    if (db.isInTransaction?.()) return;
    for (const stream of dirty) if (stream.nfd !== undefined) fsyncSync(stream.nfd);
    dirty.clear();
    for (const directory of directories) syncPath(directory);
    directories.clear();
  };
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

export interface ExclusivePGliteDriverOptions {
  /** Seconds a checkout waits for the session before failing. Default 10. */
  waitTimeout?: number;
  /** The data directory's lock (DataDirectoryLock), released once the database is closed. */
  lock?: { release(): void };
  /**
   * `'fsync'` (default): a statement's result is returned once its commit is on disk, as on a
   * PostgreSQL server (see `durablePGliteStartParams`). `'relaxed'`: PGlite's own behaviour, no fsync at
   * all: a killed process loses nothing, a host crash may lose the last ~30 s of commits.
   */
  durability?: 'fsync' | 'relaxed';
}

export function exclusivePGliteDriver(db: PGliteLike, options: ExclusivePGliteDriverOptions = {}): PGliteDriver {
  const waitTimeoutMs = seconds({ min: 0.01, max: 600, default: 10 }).parse(options.waitTimeout, 'exclusivePGliteDriver().waitTimeout') * 1000;
  const durability = oneOf(['fsync', 'relaxed'], { default: 'fsync' }).parse(options.durability, 'exclusivePGliteDriver().durability');
  let tail: Promise<void> = Promise.resolve();
  /** Set up at the first checkout, which runs alone on the session. */
  let durable: Promise<Awaited<ReturnType<typeof makeDurable>>> | undefined;
  const ensureDurable = () => (durable ??= durability === 'fsync' ? makeDurable(db) : Promise.resolve(undefined));

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
      void previous.then(async () => {
        clearTimeout(timer);
        let done = false;
        const releaseOnce = () => {
          if (!done) release();
          done = true;
        };
        try {
          await ensureDurable();
        } catch (error) {
          releaseOnce();
          reject(error);
          return;
        }
        resolve(releaseOnce);
      });
    });
  }

  async function run(sql: string, params?: unknown[]) {
    const result =
      params && params.length > 0
        ? await db.query(sql, params)
        : // Several statements may come in one string; TypeORM expects the last result.
          ((await db.exec(sql)).at(-1) ?? { rows: [] });
    // Acknowledged means on disk: the commit is synced before its result leaves the driver.
    (await durable)?.afterStatement?.();
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
        async () => {
          let failure: Error | null = null;
          try {
            // With fsync off, the shutdown checkpoint is synced here before the directory is free for the next process.
            const synced = await durable;
            if (synced?.afterStatement) syncTree(synced.root, PROCESS_START_MS);
          } catch (error) {
            failure = error as Error;
          }
          options.lock?.release();
          callback?.(failure);
        },
        (error: Error) => callback?.(error),
      );
    }
  }

  return { Pool };
}

import { PGlite } from '@electric-sql/pglite';
import { durablePGliteStartParams, exclusivePGliteDriver } from 'nestjs-zero-trust';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

/**
 * A host crash (power loss, kernel panic) keeps what reached the disk and loses the page cache. The
 * database lives on an ext4 file system of the test's own, on a loop device over an image file; the
 * "crash" copies the image while the database is open: the copy holds exactly what the file system
 * has sent to its device, nothing of what waits in the page cache. The copy is then mounted and opened,
 * as the next boot would. Needs root (losetup, mount); elsewhere the test cannot build the crash.
 */
const canMount = process.getuid?.() === 0 && ['losetup', 'mkfs.ext4', 'mount'].every((tool) => spawnSync('which', [tool]).status === 0) && existsSync('/dev/loop-control');

const ROWS = 200;
const run = (command: string, args: string[]) => execFileSync(command, args, { stdio: 'pipe' }).toString().trim();

// Outside CI a machine without loop devices skips it; in CI it must run (a skip fails the CI summary anyway).
describe.skipIf(!canMount && process.env.CI !== 'true')('the embedded database through a host crash that loses the page cache', () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        cleanup();
      } catch {
        // Best effort: a busy mount is detached lazily and freed when this process exits.
      }
    }
  });

  /** A fresh ext4 file system on a loop device. The long commit interval leaves writeback to fsync and the kernel's 30 s timer. */
  function mountImage(image: string, at: string): void {
    mkdirSync(at, { recursive: true });
    const device = run('losetup', ['--find', '--show', image]);
    cleanups.push(() => run('losetup', ['--detach', device]));
    run('mount', ['-o', 'commit=600', device, at]);
    cleanups.push(() => run('umount', ['--lazy', at]));
  }

  it.each([
    ['started with durablePGliteStartParams: PostgreSQL fsyncs its WAL', true],
    ["started with PGlite's defaults (fsync off): the driver fsyncs after each commit", false],
  ])('15.2: keeps every acknowledged commit, %s', async (_name, durableStart) => {
    const work = mkdtempSync(join(tmpdir(), 'zt-crash-'));
    cleanups.push(() => rmSync(work, { recursive: true, force: true }));
    const image = join(work, 'disk.img');
    run('truncate', ['-s', '256M', image]);
    run('mkfs.ext4', ['-q', '-F', image]);
    mountImage(image, join(work, 'live'));
    const dataDir = join(work, 'live', 'pgdata');

    const db = await PGlite.create(dataDir, durableStart ? { startParams: durablePGliteStartParams(PGlite.defaultStartParams) } : {});
    const { Pool } = exclusivePGliteDriver(db);
    const pool = new Pool();
    cleanups.push(() => void db.close().catch(() => undefined));
    await pool.query('CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL)');
    // The database as created is on disk whatever the driver does: the crash below is about what follows.
    run('sync', ['--file-system', dataDir]);
    for (let id = 1; id <= ROWS; id++) await pool.query('INSERT INTO notes (id, body) VALUES ($1, $2)', [id, `acknowledged ${id}`]);

    // The crash: what the device holds now, while the process still runs and nothing was flushed for it.
    const crashed = join(work, 'crashed.img');
    copyFileSync(image, crashed);
    mountImage(crashed, join(work, 'after'));
    const recovered = await PGlite.create(join(work, 'after', 'pgdata'));
    cleanups.push(() => void recovered.close().catch(() => undefined));
    const { rows } = await recovered.query<{ n: number; max: number }>('SELECT count(*)::int AS n, max(id) AS max FROM notes');
    expect(rows[0]).toEqual({ n: ROWS, max: ROWS });
  }, 120_000);
});

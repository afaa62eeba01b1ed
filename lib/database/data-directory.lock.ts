import { closeSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';

const LOCK_FILE = '.nestjs-zero-trust.lock';

interface Holder {
  pid: number;
  host: string;
  since: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else; only ESRCH means it is gone.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function read(path: string): Holder | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Holder;
  } catch {
    return undefined;
  }
}

/**
 * An exclusive lock on an embedded database's data directory, taken before the database is opened.
 * PGlite is one PostgreSQL instance in this process: a second process opening the same directory
 * runs a second instance on the same files, and each one's acknowledged writes can vanish under the
 * other's (split brain). The lock file names its holder (pid, host, start), so the error says which
 * process to stop. A lock left by a process that died on this host is taken over; a lock from another
 * host (a shared volume) is never assumed stale.
 */
export class DataDirectoryLock {
  private released = false;

  private constructor(private readonly path: string) {}

  static acquire(dataDir: string): DataDirectoryLock {
    const path = join(dataDir, LOCK_FILE);
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fd = openSync(path, 'wx', 0o600);
        writeSync(fd, JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() } satisfies Holder));
        closeSync(fd);
        return new DataDirectoryLock(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = read(path);
      if (holder && (holder.host !== hostname() || alive(holder.pid))) {
        throw new ZeroTrustConfigurationError(
          `the embedded database at ${dataDir} is in use by process ${holder.pid} on ${holder.host} (since ${holder.since}). ` +
            'Two processes on one PGlite directory lose each other\'s writes: stop that process, give this one another ' +
            'directory, or use PostgreSQL for several instances.',
        );
      }
      // Stale (its process is gone) or unreadable: move it aside atomically, so two takers cannot both win.
      const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
      try {
        renameSync(path, aside);
        unlinkSync(aside);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
    throw new ZeroTrustConfigurationError(`could not lock the embedded database at ${dataDir}: another process keeps taking the lock.`);
  }

  /** Releases the lock (idempotent). Call it after the database is closed. */
  release(): void {
    if (this.released) return;
    this.released = true;
    const holder = read(this.path);
    if (holder?.pid === process.pid && holder.host === hostname()) unlinkSync(this.path);
  }
}

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { DataDirectoryLock } from '../../lib/database/data-directory.lock.js';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'zt-lock-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A second process that takes the lock and holds it until killed, printing "locked" once it has it. */
function holder(dir: string) {
  const script = join(dir, 'hold.mjs');
  const lockModule = fileURLToPath(new URL('../../dist/database/data-directory.lock.js', import.meta.url));
  writeFileSync(script, `import { DataDirectoryLock } from ${JSON.stringify(lockModule)};\nDataDirectoryLock.acquire(${JSON.stringify(dir)});\nconsole.log('locked');\nsetInterval(() => {}, 1000);\n`);
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise<typeof child>((resolve, reject) => {
    child.stdout.once('data', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`holder exited with ${code}`)));
  });
}

describe('the embedded database directory is locked to one process', () => {
  it('refuses a second process on the same directory, naming the first', async () => {
    const dir = tempDir();
    const other = await holder(dir);
    try {
      expect(() => DataDirectoryLock.acquire(dir)).toThrow(new RegExp(`in use by process ${other.pid} on .*stop that process`));
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('takes over the lock of a process that died (kill -9), and releases it', async () => {
    const dir = tempDir();
    const other = await holder(dir);
    other.kill('SIGKILL');
    await new Promise((resolve) => other.once('exit', resolve));
    const lock = DataDirectoryLock.acquire(dir);
    expect(JSON.parse(readFileSync(join(dir, '.nestjs-zero-trust.lock'), 'utf8')).pid).toBe(process.pid);
    lock.release();
    expect(existsSync(join(dir, '.nestjs-zero-trust.lock'))).toBe(false);
  });

  it('refuses the same directory twice in one process too', () => {
    const dir = tempDir();
    const lock = DataDirectoryLock.acquire(dir);
    try {
      expect(() => DataDirectoryLock.acquire(dir)).toThrow(/in use by process/);
    } finally {
      lock.release();
    }
  });

  it('never takes over a lock held on another host', () => {
    const dir = tempDir();
    writeFileSync(join(dir, '.nestjs-zero-trust.lock'), JSON.stringify({ pid: 1, host: 'another-host.example', since: '2026-01-01T00:00:00Z' }));
    expect(() => DataDirectoryLock.acquire(dir)).toThrow(/in use by process 1 on another-host.example/);
  });
});

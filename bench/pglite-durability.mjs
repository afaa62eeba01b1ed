// Cost of durable commits on the embedded database (issue 15, item 2): single-row INSERTs (each its own
// acknowledged commit) and primary-key reads through exclusivePGliteDriver, in three settings:
//   relaxed  - PGlite as it comes (fsync off, no fsync anywhere): what a host crash may lose;
//   durable  - durablePGliteStartParams: PostgreSQL fsyncs its WAL at each commit (the sample's setting);
//   fallback - PGlite's defaults with the driver's default durability: the driver fsyncs after each commit.
// The data directory is on the disk of the working directory (never a tmpfs, where fsync costs nothing).
// Run: npm run build && node bench/pglite-durability.mjs [rows]
import { PGlite } from '@electric-sql/pglite';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { durablePGliteStartParams, exclusivePGliteDriver } from '../dist/index.js';

const ROWS = Number(process.argv[2] ?? 500);
const modes = ['relaxed', 'durable', 'fallback'];

async function measure(mode) {
  const dir = mkdtempSync(join(process.cwd(), '.zt-durability-bench-'));
  try {
    const db = await PGlite.create(dir, mode === 'durable' ? { startParams: durablePGliteStartParams(PGlite.defaultStartParams) } : {});
    const { Pool } = exclusivePGliteDriver(db, { durability: mode === 'relaxed' ? 'relaxed' : 'fsync' });
    const pool = new Pool();
    let started = performance.now();
    await pool.query('CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL)');
    const first = performance.now() - started;
    started = performance.now();
    for (let id = 0; id < ROWS; id++) await pool.query('INSERT INTO notes (id, body) VALUES ($1, $2)', [id, 'x'.repeat(100)]);
    const writes = (performance.now() - started) / ROWS;
    started = performance.now();
    for (let id = 0; id < ROWS; id++) await pool.query('SELECT body FROM notes WHERE id = $1', [id]);
    const reads = (performance.now() - started) / ROWS;
    await new Promise((resolve) => pool.end(resolve));
    return { mode, first, writes, reads };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`PGlite durability, ${ROWS} single-row commits and ${ROWS} reads per setting, node ${process.version}`);
for (const round of [1, 2]) {
  for (const mode of modes) {
    const { first, writes, reads } = await measure(mode);
    console.log(`round ${round} ${mode.padEnd(8)} first statement (new directory) ${first.toFixed(0).padStart(5)} ms   commit ${writes.toFixed(2).padStart(6)} ms   read ${reads.toFixed(3)} ms`);
  }
}

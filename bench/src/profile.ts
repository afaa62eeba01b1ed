import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Contender, type Database, NOTE_ID, type Platform } from './contenders.js';
import { createPostgresBench, type PostgresBench } from './postgres-setup.js';
import { type CpuProfile, printSummary, summarize } from './profile-summary.js';

/*
 * A CPU profile of one contender under load: the server runs with `node --cpu-prof`, autocannon drives
 * it (warm-up, then BENCH_SECONDS), and the profile is summarized: the module vs the framework vs the
 * database, and the module's top functions.
 *
 *   node bench/dist/profile.js [contender=zero-trust] [platform=fastify] [database=pglite]
 */
const [contender = 'zero-trust', platform = 'fastify', database = 'pglite'] = process.argv.slice(2) as [Contender?, Platform?, Database?];
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const directory = mkdtempSync(join(tmpdir(), 'zt-cpu-prof-'));
const server = fileURLToPath(new URL('./server.js', import.meta.url));
process.env.ZT_RLS_IDENTITY_KEY ??= randomBytes(48).toString('base64');
let pg: PostgresBench | undefined;
const env: NodeJS.ProcessEnv = { ...process.env };
if (database === 'postgres') {
  pg = await createPostgresBench(process.env.BENCH_PG_URL_ROOT ?? process.env.ZT_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test');
  Object.assign(env, { BENCH_PG_URL: pg.url, BENCH_PG_RLS_URL: pg.rlsUrl });
}
try {
  const child = spawn(process.execPath, ['--cpu-prof', '--cpu-prof-dir', directory, '--cpu-prof-interval', '200', server, contender, platform, database], {
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    env,
  });
  const ready = await new Promise<{ port: number; token: string }>((resolve, reject) => {
    let buffer = '';
    child.stdout!.on('data', (chunk) => {
      buffer += chunk;
      const line = buffer.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve(JSON.parse(line));
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code}`)));
  });
  const target = { url: `http://127.0.0.1:${ready.port}/notes/${NOTE_ID}`, connections: 10, headers: ready.token ? { authorization: `Bearer ${ready.token}` } : {} };
  await autocannon({ ...target, duration: 3 });
  const result = await autocannon({ ...target, duration: SECONDS });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGINT');
  await exited;
  const file = readdirSync(directory).find((name) => name.endsWith('.cpuprofile'));
  if (!file) throw new Error('no profile written');
  console.log(`${contender} on ${platform} with ${database}: ${(result.requests.total / result.duration).toFixed(0)} req/s over ${SECONDS} s (after 3 s of warm-up; the profile covers boot and warm-up too)`);
  printSummary(summarize(JSON.parse(readFileSync(join(directory, file), 'utf8')) as CpuProfile), undefined, 15);
  if (process.env.BENCH_KEEP_PROFILE) console.log(`\nprofile kept: ${join(directory, file)}`);
} finally {
  if (!process.env.BENCH_KEEP_PROFILE) rmSync(directory, { recursive: true, force: true });
  await pg?.drop();
}

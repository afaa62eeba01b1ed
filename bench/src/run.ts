import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Contender, Platform } from './contenders.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 3);
const server = fileURLToPath(new URL('./server.js', import.meta.url));

interface Result { rps: number; p50: number; p99: number; rssMb: number; errors: number; non2xx: number }

/** Starts a contender in its own process, drives it with autocannon on loopback, reads its peak RSS. */
async function measure(contender: Contender, platform: Platform): Promise<Result> {
  const child = spawn(process.execPath, [server, contender, platform], { stdio: ['ignore', 'pipe', 'inherit'] });
  const ready = await new Promise<{ port: number; token: string; noteId: string }>((resolve, reject) => {
    let buffer = '';
    child.stdout.on('data', (chunk) => {
      buffer += chunk;
      const line = buffer.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve(JSON.parse(line));
    });
    child.once('exit', (code) => reject(new Error(`${contender}/${platform} exited with ${code}`)));
  });
  const target = {
    url: `http://127.0.0.1:${ready.port}/notes/${ready.noteId}`,
    connections: CONNECTIONS,
    headers: ready.token ? { authorization: `Bearer ${ready.token}` } : {},
  };
  // Untimed warm-up, the same for every contender: the JIT, PGlite's caches and the connection pool.
  await autocannon({ ...target, duration: WARMUP_SECONDS });
  const result = await autocannon({ ...target, duration: SECONDS });
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  const rssMb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
  child.kill();
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, rssMb, errors: result.errors, non2xx: result.non2xx };
}

const contenders: Contender[] = ['bare', 'hand-built', 'zero-trust'];
const platforms: Platform[] = ['express', 'fastify'];
const results = new Map<string, Result[]>();
console.log(`GET /notes/:id on PGlite (1000 rows), ${CONNECTIONS} connections, ${SECONDS} s per run after ${WARMUP_SECONDS} s of warm-up, ${ROUNDS} rounds alternating the contenders`);
console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}\n`);
for (let round = 1; round <= ROUNDS; round++) {
  for (const platform of platforms) {
    for (const contender of round % 2 ? contenders : [...contenders].reverse()) {
      const result = await measure(contender, platform);
      if (result.non2xx || result.errors) throw new Error(`${contender}/${platform}: ${result.non2xx} non-2xx, ${result.errors} errors`);
      const key = `${platform}/${contender}`;
      results.set(key, [...(results.get(key) ?? []), result]);
      console.log(`round ${round} ${key.padEnd(22)} ${result.rps.toFixed(0).padStart(6)} req/s  p50 ${result.p50} ms  p99 ${result.p99} ms  peak RSS ${result.rssMb.toFixed(0)} MB`);
    }
  }
}
const mean = (key: string, field: keyof Result) => (results.get(key) ?? []).reduce((sum, r) => sum + r[field], 0) / (results.get(key)?.length || 1);
console.log('\n| adapter | contender | req/s | p50 ms | p99 ms | peak RSS MB |');
console.log('|---|---|---|---|---|---|');
for (const platform of platforms) {
  for (const contender of contenders) {
    const key = `${platform}/${contender}`;
    console.log(`| ${platform} | ${contender} | ${mean(key, 'rps').toFixed(0)} | ${mean(key, 'p50').toFixed(1)} | ${mean(key, 'p99').toFixed(1)} | ${mean(key, 'rssMb').toFixed(0)} |`);
  }
}
console.log('');
for (const platform of platforms) {
  const c = mean(`${platform}/zero-trust`, 'rps');
  console.log(`${platform}: c/a = ${(c / mean(`${platform}/bare`, 'rps')).toFixed(2)} (target >= 0.85), c/b = ${(c / mean(`${platform}/hand-built`, 'rps')).toFixed(2)} (target >= 1.5)`);
}

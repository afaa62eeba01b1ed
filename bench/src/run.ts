import autocannon from 'autocannon';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { CONTENDERS, type Contender, type Database, NOTE_ID, type Platform, ROWS } from './contenders.js';
import { createPostgresBench, type PostgresBench } from './postgres-setup.js';
import { cpuMicros, peakRssMb, stats, TICKS_PER_SECOND } from './proc.js';

/*
 * The whole-stack benchmark. Each contender runs in its own process (its CPU time and memory are its
 * own); the four contenders of one database and adapter are started together and measured in
 * interleaved rounds (the order rotates each round), so a busy neighbour hits them alike. Per timed
 * window: completed requests, p50/p99 (autocannon), the server's CPU time per request (utime+stime from
 * /proc/<pid>/stat), on PostgreSQL the CPU time of its backends too, the SQL round trips TypeORM made,
 * and peak RSS. Printed: medians with the min-max spread, ratios of paired rounds, met/missed per target.
 */
const number = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
};
const list = <T extends string>(name: string, all: T[]) => {
  const chosen = (process.env[name]?.split(',').map((s) => s.trim()).filter(Boolean) ?? all) as T[];
  const unknown = chosen.filter((value) => !all.includes(value));
  if (unknown.length) throw new Error(`${name}: unknown ${unknown.join(', ')} (choose from ${all.join(', ')})`);
  return chosen;
};
const SECONDS = number('BENCH_SECONDS', 6);
const ROUNDS = number('BENCH_ROUNDS', 5);
const WARMUP_SECONDS = number('BENCH_WARMUP_SECONDS', 3);
const CONNECTIONS = number('BENCH_CONNECTIONS', 10);
const DATABASES = list<Database>('BENCH_DATABASES', ['pglite', 'postgres']);
const PLATFORMS = list<Platform>('BENCH_PLATFORMS', ['express', 'fastify']);
const PG_URL = process.env.BENCH_PG_URL_ROOT ?? process.env.ZT_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const server = fileURLToPath(new URL('./server.js', import.meta.url));

interface Sample {
  rps: number;
  p50: number;
  p99: number;
  /** Server process CPU per completed request, µs. */
  cpu: number;
  /** PostgreSQL backends' CPU per completed request, µs (0 on PGlite: it runs inside the server). */
  dbCpu: number;
  roundTrips: number;
  rss: number;
}

interface Running {
  contender: Contender;
  child: ChildProcess;
  port: number;
  token: string;
  applicationName: string;
}

async function start(contender: Contender, platform: Platform, database: Database, env: NodeJS.ProcessEnv): Promise<Running> {
  const child = spawn(process.execPath, [...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []), server, contender, platform, database], {
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
    child.once('exit', (code) => reject(new Error(`${contender}/${platform}/${database} exited with ${code} before it was ready`)));
  });
  return { contender, child, ...ready, applicationName: `zt-bench-${contender}-${platform}` };
}

function roundTrips(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    child.once('message', (message: { roundTrips: number }) => resolve(message.roundTrips));
    child.send('round-trips');
  });
}

const target = (running: Running, duration: number) => ({
  url: `http://127.0.0.1:${running.port}/notes/${NOTE_ID}`,
  connections: CONNECTIONS,
  duration,
  headers: running.token ? { authorization: `Bearer ${running.token}` } : {},
});

async function backends(pg: PostgresBench | undefined, applicationName: string): Promise<number[]> {
  if (!pg) return [];
  const rows = await pg.admin.query('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [applicationName]);
  return rows.map((row: { pid: number }) => row.pid);
}

async function measure(running: Running, pg: PostgresBench | undefined): Promise<Sample> {
  const pid = running.child.pid!;
  const dbPids = await backends(pg, running.applicationName);
  const sumDb = () => dbPids.reduce((sum, p) => sum + cpuMicros(p), 0);
  const [cpu0, db0, trips0] = [cpuMicros(pid), sumDb(), await roundTrips(running.child)];
  const result = await autocannon(target(running, SECONDS));
  const [cpu1, db1, trips1] = [cpuMicros(pid), sumDb(), await roundTrips(running.child)];
  // A backend opened during the window: all of its CPU time belongs to the window.
  const opened = (await backends(pg, running.applicationName)).filter((p) => !dbPids.includes(p));
  const dbOpened = opened.reduce((sum, p) => sum + cpuMicros(p), 0);
  if (result.non2xx || result.errors || result.timeouts) {
    throw new Error(`${running.applicationName}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`);
  }
  const completed = result.requests.total;
  return {
    rps: completed / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpu: (cpu1 - cpu0) / completed,
    dbCpu: (db1 - db0 + dbOpened) / completed,
    roundTrips: (trips1 - trips0) / completed,
    rss: peakRssMb(pid),
  };
}

const stopped = (child: ChildProcess) => new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve())));

/** samples[database][platform][contender][round] */
const samples = new Map<string, Sample[]>();
const key = (database: Database, platform: Platform, contender: Contender) => `${database}/${platform}/${contender}`;

console.log(
  `GET /notes/:id (${ROWS} rows), ${CONNECTIONS} connections (autocannon, loopback), ${WARMUP_SECONDS} s untimed warm-up per process, ` +
    `then ${ROUNDS} rounds of ${SECONDS} s per contender, interleaved (the order rotates each round)`,
);
console.log(
  `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, ` +
    `load average at start ${loadavg().map((l) => l.toFixed(2)).join(' ')}; CPU from /proc at ${TICKS_PER_SECOND} Hz\n`,
);

process.env.ZT_RLS_IDENTITY_KEY ??= randomBytes(48).toString('base64');
for (const database of DATABASES) {
  let pg: PostgresBench | undefined;
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (database === 'postgres') {
    try {
      pg = await createPostgresBench(PG_URL);
    } catch (error) {
      console.log(`PostgreSQL at ${PG_URL} unavailable (${(error as Error).message}): skipped\n`);
      continue;
    }
    Object.assign(env, { BENCH_PG_URL: pg.url, BENCH_PG_RLS_URL: pg.rlsUrl });
  }
  try {
    for (const platform of PLATFORMS) {
      const running = await Promise.all(CONTENDERS.map((contender) => start(contender, platform, database, env)));
      try {
        // The JIT, the caches and the connection pools, the same for every contender, untimed.
        for (const r of running) await autocannon(target(r, WARMUP_SECONDS));
        for (let round = 0; round < ROUNDS; round++) {
          const order = running.map((_, i) => running[(i + round) % running.length]);
          for (const r of order) {
            const sample = await measure(r, pg);
            const k = key(database, platform, r.contender);
            samples.set(k, [...(samples.get(k) ?? []), sample]);
            console.log(
              `round ${round + 1} ${k.padEnd(32)} ${sample.rps.toFixed(0).padStart(6)} req/s  p50 ${sample.p50} ms  p99 ${sample.p99} ms  ` +
                `CPU ${sample.cpu.toFixed(0)} µs/req${pg ? ` + DB ${sample.dbCpu.toFixed(0)}` : ''}  SQL ${sample.roundTrips.toFixed(2)}/req  RSS ${sample.rss.toFixed(0)} MB`,
            );
          }
        }
      } finally {
        for (const r of running) r.child.kill('SIGTERM');
        await Promise.all(running.map((r) => stopped(r.child)));
      }
    }
  } finally {
    await pg?.drop();
  }
}

// ---- Summary ----
const fmt = (values: number[], digits = 0) => {
  const { median, min, max } = stats(values);
  return `${median.toFixed(digits)} (${min.toFixed(digits)}–${max.toFixed(digits)})`;
};
const field = (list: Sample[], name: keyof Sample) => list.map((s) => s[name]);
/** Ratios of paired samples (the same round), so a round's noise divides out. */
const paired = (a: Sample[], b: Sample[], f: (s: Sample) => number) => a.slice(0, b.length).map((s, i) => f(s) / f(b[i]));

console.log('\nMedian (min–max) over the rounds. CPU: the server process; DB: the PostgreSQL backends serving it (PGlite runs in the server process).\n');
console.log('| database | adapter | contender | req/s | p50 ms | p99 ms | CPU µs/req | DB CPU µs/req | SQL round trips/req | peak RSS MB |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const database of DATABASES) {
  for (const platform of PLATFORMS) {
    for (const contender of CONTENDERS) {
      const s = samples.get(key(database, platform, contender));
      if (!s) continue;
      console.log(
        `| ${database} | ${platform} | ${contender} | ${fmt(field(s, 'rps'))} | ${fmt(field(s, 'p50'), 1)} | ${fmt(field(s, 'p99'), 1)} | ${fmt(field(s, 'cpu'))} | ` +
          `${database === 'postgres' ? fmt(field(s, 'dbCpu')) : '–'} | ${stats(field(s, 'roundTrips')).median.toFixed(2)} | ${Math.max(...field(s, 'rss')).toFixed(0)} |`,
      );
    }
  }
}

interface Verdict {
  label: string;
  values: number[];
  limit: number;
  /** 'min': the figure must be at least `limit`; 'max': at most. */
  kind: 'min' | 'max';
}
const verdicts: Verdict[] = [];
console.log('\nRatios, median (min–max) of the per-round ratios:\n');
console.log('| database | adapter | zero-trust / bare req/s | zero-trust / bare CPU | zero-trust / hand-built req/s | zero-trust / hand-built CPU | RLS / bare req/s | RLS / bare CPU |');
console.log('|---|---|---|---|---|---|---|---|');
for (const database of DATABASES) {
  for (const platform of PLATFORMS) {
    const [bare, hand, zt, rls] = CONTENDERS.map((c) => samples.get(key(database, platform, c)));
    if (!bare || !hand || !zt || !rls) continue;
    // On PostgreSQL the CPU a request costs includes its backend's; both are counted for the CPU ratios.
    const cpu = (s: Sample) => s.cpu + s.dbCpu;
    const rps = (s: Sample) => s.rps;
    const cells = [paired(zt, bare, rps), paired(zt, bare, cpu), paired(zt, hand, rps), paired(zt, hand, cpu), paired(rls, bare, rps), paired(rls, bare, cpu)];
    console.log(`| ${database} | ${platform} | ${cells.map((c) => fmt(c, 2)).join(' | ')} |`);
    const where = `${database}/${platform}`;
    verdicts.push(
      { label: `full stack ≥ 0.9× bare req/s (${where})`, values: cells[0], limit: 0.9, kind: 'min' },
      { label: `full stack ≤ 1.15× bare CPU per request (${where}${database === 'postgres' ? ', server + backends' : ''})`, values: cells[1], limit: 1.15, kind: 'max' },
      { label: `with row-level security ≥ 0.8× bare req/s (${where})`, values: cells[4], limit: 0.8, kind: 'min' },
      { label: `with row-level security ≤ 3 SQL round trips per owned GET (${where}, measured)`, values: field(rls, 'roundTrips'), limit: 3, kind: 'max' },
      { label: `peak RSS of zero-trust ≤ bare + 30 MB (${where})`, values: [Math.max(...field(zt, 'rss')) - Math.max(...field(bare, 'rss'))], limit: 30, kind: 'max' },
    );
  }
}

console.log('\nTargets of issue 16 (judged on the median; "spread crosses" when some rounds fall on the other side):\n');
for (const { label, values, limit, kind } of verdicts) {
  const { median, min, max } = stats(values);
  const met = kind === 'min' ? median >= limit : median <= limit;
  const crosses = kind === 'min' ? min < limit && max >= limit : max > limit && min <= limit;
  const shown = values.length > 1 ? `${median.toFixed(2)} (${min.toFixed(2)}–${max.toFixed(2)})` : median.toFixed(2);
  console.log(`${met ? 'MET   ' : 'MISSED'} ${label}: ${shown}${crosses ? ', spread crosses' : ''}`);
}
console.log(`\nload average at the end ${loadavg().map((l) => l.toFixed(2)).join(' ')}. Token verification, the module's own work and the Redis store: bench/dist/micro.js.`);

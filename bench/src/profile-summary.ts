import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Where the time of a V8 CPU profile goes: each sample is charged to the first frame, from the leaf up,
 * that belongs to an owner (this module's dist/, the framework, the database), so time spent in
 * node:crypto or class-validator counts for whoever called it. Used for `node --cpu-prof` profiles of
 * a contender under load and for the in-process profile of micro.ts.
 *
 *   node bench/dist/profile-summary.js <file.cpuprofile>
 */
export interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }>;
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

type Owner = 'module' | 'framework' | 'database' | 'node' | 'gc' | 'idle' | 'program';

const moduleDist = new URL('../../dist/', import.meta.url).href;
const FRAMEWORK = ['/@nestjs/', '/express/', '/fastify/', '/@fastify/', '/find-my-way/', '/light-my-request/', '/router/', '/body-parser/', '/avvio/', '/path-to-regexp/', '/finalhandler/', '/on-finished/', '/fast-json-stringify/', '/safe-stable-stringify/', '/send/', '/helmet/', '/passport', '/jsonwebtoken/', '/jws/', '/@nestjs/throttler/'];
const DATABASE = ['/typeorm/', '/pg/', '/pg-protocol/', '/pg-pool/', '/@electric-sql/', '/typeorm-pglite/', '/pg-types/', '/postgres-'];

function ownerOf(url: string, functionName: string): Owner | undefined {
  if (functionName === '(garbage collector)') return 'gc';
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(program)') return 'program';
  if (url.startsWith(moduleDist)) return 'module';
  if (url.startsWith('wasm://') || /^wasm-function|^\$?func\d+/.test(functionName)) return 'database';
  if (url.includes('/node_modules/')) {
    if (FRAMEWORK.some((p) => url.includes(p))) return 'framework';
    if (DATABASE.some((p) => url.includes(p))) return 'database';
  }
  return undefined;
}

export interface ProfileSummary {
  totalMs: number;
  byOwner: Record<Owner, number>;
  /** Module time by feature folder (auth, authz, http, ...), ms. */
  byFeature: Map<string, number>;
  /** Module functions, ms charged to them (their own time plus the unowned code they called). */
  byFunction: Map<string, number>;
}

export function summarize(profile: CpuProfile): ProfileSummary {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const byOwner: Record<Owner, number> = { module: 0, framework: 0, database: 0, node: 0, gc: 0, idle: 0, program: 0 };
  const byFeature = new Map<string, number>();
  const byFunction = new Map<string, number>();
  const charge = new Map<number, { owner: Owner; frame?: number }>();
  let totalMs = 0;
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    totalMs += ms;
    let found = charge.get(id);
    if (!found) {
      found = { owner: 'node' };
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
        const frame = nodes.get(at)!.callFrame;
        const owner = ownerOf(frame.url, frame.functionName);
        if (owner) {
          found = { owner, frame: at };
          break;
        }
      }
      charge.set(id, found);
    }
    byOwner[found.owner] += ms;
    if (found.owner === 'module') {
      const frame = nodes.get(found.frame!)!.callFrame;
      const file = frame.url.slice(moduleDist.length);
      const feature = file.includes('/') ? file.slice(0, file.indexOf('/')) : file;
      byFeature.set(feature, (byFeature.get(feature) ?? 0) + ms);
      const name = `${frame.functionName || '(anonymous)'} (${file}:${frame.lineNumber + 1})`;
      byFunction.set(name, (byFunction.get(name) ?? 0) + ms);
    }
  });
  return { totalMs, byOwner, byFeature, byFunction };
}

export function printSummary(summary: ProfileSummary, requests?: number, top = 12): void {
  const busy = summary.totalMs - summary.byOwner.idle;
  const pct = (ms: number) => `${((ms / busy) * 100).toFixed(1)} %`;
  const perRequest = (ms: number) => (requests ? `, ${((ms * 1000) / requests).toFixed(1)} µs/req` : '');
  console.log(`profile: ${summary.totalMs.toFixed(0)} ms sampled, ${busy.toFixed(0)} ms busy (idle ${summary.byOwner.idle.toFixed(0)} ms)${requests ? `, ${requests} requests` : ''}`);
  console.log('| where (share of busy time) | ms | share |');
  console.log('|---|---|---|');
  const labels: Record<Exclude<Owner, 'idle'>, string> = {
    module: 'nestjs-zero-trust (dist/), with the node:crypto, class-validator… it calls',
    framework: 'framework: Nest, Express/Fastify, and what they call',
    database: 'database: TypeORM, pg / PGlite (JS and WASM)',
    node: 'Node itself: HTTP parsing, sockets, timers, promises',
    gc: 'garbage collector',
    program: 'V8/native (program)',
  };
  for (const owner of Object.keys(labels) as Array<keyof typeof labels>) {
    console.log(`| ${labels[owner]} | ${summary.byOwner[owner].toFixed(0)} | ${pct(summary.byOwner[owner])}${perRequest(summary.byOwner[owner])} |`);
  }
  console.log(`\nmodule time by feature: ${[...summary.byFeature].sort((a, b) => b[1] - a[1]).map(([f, ms]) => `${f} ${pct(ms)}`).join(', ')}`);
  console.log(`top module functions (share of busy time):`);
  for (const [name, ms] of [...summary.byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(ms).padStart(7)}  ${name}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2];
  if (!file) throw new Error('usage: node bench/dist/profile-summary.js <file.cpuprofile> [requests]');
  printSummary(summarize(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile), process.argv[3] ? Number(process.argv[3]) : undefined);
}

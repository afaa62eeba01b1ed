// Per-request cost of the rate-limit store: one throttle() call per request (one per applicable
// throttler), in memory vs Redis (one Lua round trip on loopback). Needs Redis at REDIS_URL
// (default redis://127.0.0.1:6379). Run: npm run build && node bench/throttle-store.mjs
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { MemoryStore } from '../dist/index.js';
import { RedisStore } from '../dist/store/redis.store.js';

const ITERATIONS = Number(process.env.ITERATIONS ?? 20000);
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

async function time(store, label) {
  const keys = Array.from({ length: 1000 }, (_, i) => `bench:${i}`);
  for (let i = 0; i < 1000; i++) await store.throttle(keys[i % keys.length], 60_000, 1e9, 0);
  const start = process.hrtime.bigint();
  for (let i = 0; i < ITERATIONS; i++) await store.throttle(keys[i % keys.length], 60_000, 1e9, 0);
  const us = Number(process.hrtime.bigint() - start) / 1e3 / ITERATIONS;
  console.log(`${label.padEnd(28)} ${us.toFixed(1).padStart(7)} us/op   (${Math.round(1e6 / us)} ops/s, sequential)`);
  return us;
}

const memory = new MemoryStore();
const client = new Redis(url);
const prefix = `zt-bench-${randomBytes(4).toString('hex')}:`;
const redis = new RedisStore(client, prefix, false);
await redis.ready();
console.log(`rate-limit store, ${ITERATIONS} sequential throttle() calls, node ${process.version}`);
await time(memory, 'memory');
await time(redis, 'redis (Lua, 1 round trip)');
const keys = await client.keys(`${prefix}*`);
if (keys.length) await client.del(...keys);
await memory.close();
client.disconnect();

/**
 * Issue 20: enumeration through status, body and timing. Registration of a new vs a taken address and
 * reset requests for a known vs an unknown address, 50 tries each: status and body must be identical
 * (asserted); the median times are reported, not asserted (wall time on a shared machine is noise).
 */
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSampleApp } from '../../sample/src/app.factory.js';
import { json, median, PASSWORD, proof } from './lifecycle-support.js';

process.env.ZT_DB = 'memory';
process.env.ZT_AUTH_RATE_LIMIT = '100000';
process.env.ZT_POW_DIFFICULTY = '50';
process.env.ZT_POW_RAISED_DIFFICULTY = '50';
process.env.ZT_PASSWORD_RESET_PER_ADDRESS = '1000';
// Challenges are fetched from many client addresses: the default limit (100 a minute per route and client) is not what is measured.
process.env.ZT_TRUST_PROXY = '1';
const client = (i: number) => `192.0.2.${i + 1}`;

const TRIES = 50;

describe('issue 20: registration and reset answer alike for known and unknown addresses (express)', () => {
  let app: INestApplication;
  let http: ReturnType<typeof request>;

  beforeAll(async () => {
    app = await createSampleApp('express', false);
    http = request(app.getHttpServer());
    for (let i = 0; i < TRIES; i++) await http.post('/auth/register').set(json).send({ email: `taken${i}@example.com`, password: PASSWORD }).expect(201);
  }, 180_000);
  afterAll(() => app?.close());

  /** Interleaves the two kinds so that drift of the machine's load hits both alike. */
  async function measure(send: (kind: 'a' | 'b', i: number) => Promise<request.Response>) {
    const times = { a: [] as number[], b: [] as number[] };
    const answers = { a: new Set<string>(), b: new Set<string>() };
    for (let i = 0; i < TRIES; i++) {
      for (const kind of i % 2 ? (['a', 'b'] as const) : (['b', 'a'] as const)) {
        const started = process.hrtime.bigint();
        const response = await send(kind, i);
        times[kind].push(Number(process.hrtime.bigint() - started) / 1e6);
        answers[kind].add(`${response.status} ${JSON.stringify(response.body)} ${response.headers['content-length']}`);
      }
    }
    return { times, answers };
  }

  it('registration: a new and a taken address get one status and one body; medians reported', async () => {
    const proofs = { a: [] as string[], b: [] as string[] };
    for (let i = 0; i < TRIES; i++) {
      proofs.a.push(await proof(http, 'register', undefined, client(i)));
      proofs.b.push(await proof(http, 'register', undefined, client(i)));
    }
    const { times, answers } = await measure((kind, i) =>
      http.post('/account/register').set(json).set('X-Forwarded-For', client(i)).set('X-Altcha', proofs[kind][i]).send({ email: kind === 'a' ? `new${i}@example.com` : `taken${i}@example.com`, password: PASSWORD }),
    );
    expect([...answers.a]).toEqual([...answers.b]);
    expect(answers.a.size).toBe(1);
    console.log(`issue 20 timing, POST /account/register x${TRIES}: new address median ${median(times.a).toFixed(1)} ms, taken address median ${median(times.b).toFixed(1)} ms`);
  }, 300_000);

  it('reset request: a known and an unknown address get one status and one body; medians reported', async () => {
    const proofs = { a: [] as string[], b: [] as string[] };
    for (let i = 0; i < TRIES; i++) {
      proofs.a.push(await proof(http, 'password_reset', undefined, client(i)));
      proofs.b.push(await proof(http, 'password_reset', undefined, client(i)));
    }
    const { times, answers } = await measure((kind, i) =>
      http.post('/account/password/forgot').set(json).set('X-Forwarded-For', client(i)).set('X-Altcha', proofs[kind][i]).send({ email: kind === 'a' ? `taken${i}@example.com` : `unknown${i}@example.com` }),
    );
    expect([...answers.a]).toEqual([...answers.b]);
    expect(answers.a.size).toBe(1);
    console.log(`issue 20 timing, POST /account/password/forgot x${TRIES}: known address median ${median(times.a).toFixed(1)} ms, unknown address median ${median(times.b).toFixed(1)} ms`);
  }, 300_000);
});

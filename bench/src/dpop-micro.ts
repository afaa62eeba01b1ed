import 'reflect-metadata';
import { Controller, Get, type INestApplication, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { generateKeyPair, generateProof } from 'dpop';
import { calculateJwkThumbprint, EmbeddedJWK, jwtVerify } from 'jose';
import { Authenticated, DpopProofVerifier, TokenService, ZeroTrustModule } from 'nestjs-zero-trust';
import { generateKeyPairSync } from 'node:crypto';
import { pathToFileURL } from 'node:url';

/*
 * What a DPoP-checked request costs against a bearer one (issue 19), each in the same process:
 * 1. the whole module per authenticated GET through Fastify's inject(): a bearer token (verified once,
 *    then from the verified-token cache) vs a DPoP-bound token with a fresh proof on every request
 *    (proof verification, thumbprint, ath, the jti written to the memory store);
 * 2. proof verification alone: the module's DpopProofVerifier (node:crypto, synchronous, key cached per
 *    thumbprint) vs jose's jwtVerify with EmbeddedJWK plus calculateJwkThumbprint, the library route.
 * Proofs are made beforehand with the `dpop` client library, outside the measured loops.
 */
const N = Number(process.env.DPOP_MICRO_ITERATIONS ?? 2000);
const ORIGIN = 'http://localhost';

function cpuNow(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

/** CPU µs per call, best of 5 batches (a neighbour taking the core adds waiting, not CPU time). */
async function cpuPerCall(iterations: number, fn: (i: number) => unknown): Promise<number> {
  const batches = 5;
  const size = Math.max(1, Math.floor(iterations / batches));
  let best = Infinity;
  for (let b = 0; b < batches; b++) {
    const start = cpuNow();
    for (let i = b * size; i < (b + 1) * size; i++) await fn(i);
    best = Math.min(best, (cpuNow() - start) / size);
  }
  return best;
}

@Controller()
class MeController {
  @Authenticated()
  @Get('me')
  me() {
    return { ok: true };
  }
}

export async function runDpopMicro(log: (line: string) => void = console.log): Promise<{ bearer: number; dpop: number; verifier: number; jose: number }> {
  const signing = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  @Module({
    imports: [
      ZeroTrustModule.forRoot({
        issuer: 'https://bench.test',
        audience: 'bench',
        keys: [{ kid: 'k1', alg: 'ES256', privateKey: signing }],
        authFailureLimit: false,
        throttle: false,
        senderConstraint: { dpop: { origins: [ORIGIN] } },
      }),
    ],
    controllers: [MeController],
  })
  class BenchModule {}
  const { FastifyAdapter } = await import('@nestjs/platform-fastify');
  const app: INestApplication = await NestFactory.create(BenchModule, new FastifyAdapter(), { logger: false });
  await app.init();
  const fastify = app.getHttpAdapter().getInstance() as { ready(): Promise<void>; inject(o: object): Promise<{ statusCode: number }> };
  await fastify.ready();
  try {
    const tokens = app.get(TokenService);
    const key = await generateKeyPair('ES256');
    const jkt = await calculateJwkThumbprint(await (await import('jose')).exportJWK(key.publicKey));
    const bearer = tokens.issueAccessToken({ subject: 'u1' }).accessToken;
    const bound = tokens.issueAccessToken({ subject: 'u1', dpop: { jkt } }).accessToken;
    const proofs: string[] = [];
    // One proof per measured request (each jti is spent), plus warm-up.
    for (let i = 0; i < N + 300; i++) proofs.push(await generateProof(key, `${ORIGIN}/me`, 'GET', undefined, bound));
    const expectOk = (status: number) => {
      if (status !== 200) throw new Error(`bench request answered ${status}`);
    };
    for (let i = 0; i < 300; i++) expectOk((await fastify.inject({ method: 'GET', url: '/me', headers: { authorization: `Bearer ${bearer}` } })).statusCode);
    const bearerCost = await cpuPerCall(N, async () => expectOk((await fastify.inject({ method: 'GET', url: '/me', headers: { authorization: `Bearer ${bearer}` } })).statusCode));
    let next = 0;
    for (let i = 0; i < 300; i++) expectOk((await fastify.inject({ method: 'GET', url: '/me', headers: { authorization: `DPoP ${bound}`, dpop: proofs[next++] } })).statusCode);
    const dpopCost = await cpuPerCall(N, async () => expectOk((await fastify.inject({ method: 'GET', url: '/me', headers: { authorization: `DPoP ${bound}`, dpop: proofs[next++] } })).statusCode));

    // Proof verification alone, on requests that only carry what the verifier reads.
    const verifier = app.get(DpopProofVerifier);
    const loose: string[] = [];
    for (let i = 0; i < N + 300; i++) loose.push(await generateProof(key, `${ORIGIN}/me`, 'GET', undefined, bound));
    const request = (proof: string) => ({ method: 'GET', url: '/me', headers: { host: 'localhost', dpop: proof }, rawHeaders: ['host', 'localhost', 'DPoP', proof], socket: {} });
    let v = 0;
    const verifierCost = await cpuPerCall(N, () => verifier.verify(request(loose[v++]), { accessToken: bound, jkt }));
    let j = 0;
    const joseCost = await cpuPerCall(N, async () => {
      const { protectedHeader } = await jwtVerify(loose[j++ % loose.length], EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256'] });
      await calculateJwkThumbprint(protectedHeader.jwk!);
    });
    log(`DPoP micro-benchmark (Fastify inject, CPU µs per request, best of 5 batches of ${N / 5})`);
    log(`  bearer token, verified-token cache   ${bearerCost.toFixed(1)} µs`);
    log(`  DPoP-bound token + fresh proof        ${dpopCost.toFixed(1)} µs   (+${(dpopCost - bearerCost).toFixed(1)} µs, x${(dpopCost / bearerCost).toFixed(2)})`);
    log(`  proof verification alone: module      ${verifierCost.toFixed(1)} µs`);
    log(`  proof verification alone: jose        ${joseCost.toFixed(1)} µs   (jwtVerify + EmbeddedJWK + calculateJwkThumbprint)`);
    return { bearer: bearerCost, dpop: dpopCost, verifier: verifierCost, jose: joseCost };
  } finally {
    await app.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runDpopMicro().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}

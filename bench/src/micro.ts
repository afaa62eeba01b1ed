import 'reflect-metadata';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { createHmac, createSecretKey, generateKeyPairSync, type KeyObject, randomUUID, sign, verify } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { Authenticated, JwtAuthGuard, ZeroTrustModule } from 'nestjs-zero-trust';

// Micro-benchmarks: access-token verification through the module's guard (cold: a token never seen;
// cached: a token seen before), against the raw crypto operation; and writing the security headers.
const N = Number(process.env.MICRO_ITERATIONS ?? 3000);
const b64 = (value: string | Buffer) => Buffer.from(value).toString('base64url');

function time(label: string, iterations: number, fn: (i: number) => unknown): number {
  for (let i = 0; i < Math.min(500, iterations); i++) fn(i);
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn(i);
  return Number(process.hrtime.bigint() - start) / 1e3 / iterations;
}

async function timeAsync(iterations: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.min(300, iterations); i++) await fn(i);
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) await fn(i);
  return Number(process.hrtime.bigint() - start) / 1e3 / iterations;
}

@Controller()
class ProbeController {
  @Authenticated()
  @Get('me')
  me() {}
}

type Alg = 'ES256' | 'RS256' | 'HS256';
const keys: Record<Alg, { privateKey: KeyObject; publicKey: KeyObject; options: object }> = {
  ES256: { ...generateKeyPairSync('ec', { namedCurve: 'prime256v1' }), options: {} },
  RS256: { ...generateKeyPairSync('rsa', { modulusLength: 2048 }), options: {} },
  HS256: (() => { const k = createSecretKey(Buffer.alloc(32, 7)); return { privateKey: k, publicKey: k, options: {} }; })(),
};

function rawSign(alg: Alg, input: string): Buffer {
  if (alg === 'HS256') return createHmac('sha256', keys.HS256.privateKey).update(input).digest();
  return sign('sha256', Buffer.from(input), alg === 'ES256' ? { key: keys.ES256.privateKey, dsaEncoding: 'ieee-p1363' } : keys.RS256.privateKey);
}
function rawVerify(alg: Alg, input: string, signature: Buffer): boolean {
  if (alg === 'HS256') return createHmac('sha256', keys.HS256.publicKey).update(input).digest().equals(signature);
  return verify('sha256', Buffer.from(input), alg === 'ES256' ? { key: keys.ES256.publicKey, dsaEncoding: 'ieee-p1363' } : keys.RS256.publicKey, signature);
}

function token(alg: Alg, jti: string): string {
  const now = Math.floor(Date.now() / 1000);
  const input = `${b64(JSON.stringify({ alg, typ: 'at+jwt', kid: alg }))}.${b64(JSON.stringify({ iss: 'https://bench.test', aud: 'bench', sub: 'u1', iat: now, exp: now + 600, jti }))}`;
  return `${input}.${b64(rawSign(alg, input))}`;
}

console.log(`micro-benchmarks, node ${process.version}, ${N} iterations each\n`);
console.log('| algorithm | raw verify | guard, cold (new token) | guard, token seen before | cold / raw |');
console.log('|---|---|---|---|---|');
for (const alg of ['HS256', 'ES256', 'RS256'] as Alg[]) {
  @Module({
    imports: [
      ZeroTrustModule.forRoot({
        issuer: 'https://bench.test',
        audience: 'bench',
        algorithms: [alg],
        keys: [alg === 'HS256' ? { kid: alg, alg, secret: Buffer.alloc(32, 7) } : { kid: alg, alg, privateKey: keys[alg].privateKey }],
        auditSinks: [],
        anomalyRules: false,
      }),
    ],
    controllers: [ProbeController],
  })
  class MicroModule {}
  const app = await NestFactory.createApplicationContext(MicroModule, { logger: false });
  // Several providers share the APP_GUARD token: find the authentication guard among the instances.
  const container = (app as unknown as { container: { getModules(): Map<string, { providers: Map<unknown, { instance: unknown }> }> } }).container;
  let jwtGuard: { canActivate(context: unknown): Promise<boolean> } | undefined;
  for (const module of container.getModules().values()) {
    for (const wrapper of module.providers.values()) if (wrapper.instance instanceof JwtAuthGuard) jwtGuard = wrapper.instance as typeof jwtGuard;
  }
  if (!jwtGuard) throw new Error('no JwtAuthGuard instance');
  const context = (authorization: string) => {
    const request = { headers: { authorization }, method: 'GET', socket: { remoteAddress: '127.0.0.1' } };
    const response = { setHeader() {}, statusCode: 200 };
    return {
      getType: () => 'http',
      getHandler: () => ProbeController.prototype.me,
      getClass: () => ProbeController,
      switchToHttp: () => ({ getRequest: () => request, getResponse: () => response, getNext: () => undefined }),
    };
  };
  const fresh = Array.from({ length: N + 500 }, () => `Bearer ${token(alg, randomUUID())}`);
  const seen = `Bearer ${token(alg, 'seen')}`;
  await jwtGuard.canActivate(context(seen));
  const one = token(alg, 'raw');
  const [input, signature] = [one.slice(0, one.lastIndexOf('.')), Buffer.from(one.slice(one.lastIndexOf('.') + 1), 'base64url')];
  const raw = time('raw', N, () => rawVerify(alg, input, signature));
  const cold = await timeAsync(N, (i) => jwtGuard.canActivate(context(fresh[i])));
  const cached = await timeAsync(N, () => jwtGuard.canActivate(context(seen)));
  console.log(`| ${alg} | ${raw.toFixed(1)} µs | ${cold.toFixed(1)} µs | ${cached.toFixed(1)} µs | ${(cold / raw).toFixed(2)} |`);
  await app.close();
}

const response = { headers: new Map<string, string>(), setHeader(name: string, value: string) { this.headers.set(name, value); }, removeHeader(name: string) { this.headers.delete(name); }, headersSent: false };
const { applyHeaders, DEFAULT_SECURITY_HEADERS, resolveSecurityHeaders } = await import('../../dist/http/security-headers.js');
const headers = resolveSecurityHeaders(undefined);
const headerCost = time('headers', 100_000, () => applyHeaders(response as unknown as ServerResponse, headers));
console.log(`\nsecurity headers (${Object.keys(DEFAULT_SECURITY_HEADERS).length} set, 1 removed, strings prepared at boot): ${headerCost.toFixed(2)} µs per response`);

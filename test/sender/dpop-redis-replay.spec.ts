import { generateKeyPair, generateProof } from 'dpop';
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireRedisUrl } from '../support/services.js';
import { createDpopApp, type DpopProbe } from './dpop-app.js';

const redisUrl = requireRedisUrl();
/** Both instances serve the same public origin behind a load balancer: proofs name it, not either socket. */
const ORIGIN = 'https://api.test';

describe.skipIf(!redisUrl)('DPoP proof replay across two instances sharing Redis', () => {
  const storeKeyPrefix = `zt-test-${randomBytes(6).toString('hex')}:`;
  let one: DpopProbe;
  let two: DpopProbe;
  let key: Awaited<ReturnType<typeof generateKeyPair>>;
  let token: string;

  const options = { store: redisUrl, storeKeyPrefix, senderConstraint: { dpop: { origins: [ORIGIN] } } };
  const me = (probe: DpopProbe, proof: string) => fetch(`${probe.base}/me`, { headers: { authorization: `DPoP ${token}`, dpop: proof } }).then((r) => r.status);

  beforeAll(async () => {
    one = await createDpopApp('express', options);
    two = await createDpopApp('fastify', options);
    key = await generateKeyPair('ES256');
    const issued = await fetch(`${one.base}/token`, { method: 'POST', headers: { dpop: await generateProof(key, `${ORIGIN}/token`, 'POST') } });
    token = ((await issued.json()) as { accessToken: string }).accessToken;
  });
  afterAll(async () => {
    await one?.app.close();
    await two?.app.close();
    const redis = new Redis(redisUrl!);
    const keys = await redis.keys(`${storeKeyPrefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it('refuses on the second instance a proof the first accepted', async () => {
    const proof = await generateProof(key, `${ORIGIN}/me`, 'GET', undefined, token);
    expect(await me(one, proof)).toBe(200);
    expect(await me(two, proof)).toBe(401);
    expect(two.audit.last('auth.failure')?.reason).toBe('dpop_replay');
  });

  it('of one proof sent to both instances at once, exactly one request passes', async () => {
    for (let round = 0; round < 5; round++) {
      const proof = await generateProof(key, `${ORIGIN}/me`, 'GET', undefined, token);
      const statuses = await Promise.all([me(one, proof), me(two, proof), me(one, proof), me(two, proof)]);
      expect(statuses.filter((status) => status === 200)).toHaveLength(1);
    }
  });

  it('checks htu against the configured origin, not the socket the request came in on', async () => {
    const proof = await generateProof(key, `${one.base}/me`, 'GET', undefined, token);
    expect(await me(one, proof)).toBe(401);
    expect(one.audit.last('auth.failure')?.reason).toBe('dpop_wrong_uri');
  });
});

describe('DPoP replay store down', () => {
  it('fails closed (503) when the store cannot say whether a proof was seen, even with onStoreFailure open', async () => {
    const probe = await createDpopApp('express', { store: 'redis://127.0.0.1:9', onStoreFailure: { auth: 'open', default: 'open' } });
    try {
      const key = await generateKeyPair('ES256');
      const issued = await fetch(`${probe.base}/token`, { method: 'POST', headers: { dpop: await generateProof(key, `${probe.base}/token`, 'POST') } });
      expect(issued.status).toBe(503);
    } finally {
      await probe.app.close();
    }
  });
});

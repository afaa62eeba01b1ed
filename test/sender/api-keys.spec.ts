import { ApiKeyService, TokenService } from 'nestjs-zero-trust';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PLATFORMS } from '../support/test-app.js';
import { type ClientsProbe, createClientsApp } from './clients-app.js';

describe.each(PLATFORMS)('API keys (%s)', (platform) => {
  let probe: ClientsProbe;
  let keys: ApiKeyService;
  let queries = 0;

  beforeAll(async () => {
    probe = await createClientsApp(platform, { authFailureLimit: { limit: 20, window: 60 } });
    keys = probe.app.get(ApiKeyService);
    // Counts SQL round trips, the time-free way to see that two failures took the same path.
    const query = probe.db.query.bind(probe.db);
    probe.db.query = ((...args: Parameters<typeof query>) => {
      queries++;
      return query(...args);
    }) as typeof probe.db.query;
  });
  afterAll(() => probe?.app.close());

  const call = (path: string, key?: string, headers: Record<string, string> = {}) =>
    fetch(`${probe.base}${path}`, { headers: { ...(key === undefined ? {} : { 'x-api-key': key }), ...headers } });
  async function refused(path: string, key: string | undefined, status = 401) {
    probe.audit.clear();
    const response = await call(path, key);
    expect(response.status).toBe(status);
    return probe.audit.last(status === 403 ? 'access.denied' : 'auth.failure')?.reason;
  }
  const row = async (id: string) => (await probe.db.query(`SELECT * FROM zt_api_keys WHERE id = $1`, [id]))[0];

  it('creates a prefixed key shown once and stored only as a hash; the key authenticates its owner with its scopes', async () => {
    const created = await keys.create({ name: 'billing export', owner: 'user-7', scopes: ['reports:read'], expiresIn: 3600 });
    expect(created.key).toMatch(/^ztk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(JSON.stringify(await row(created.id))).not.toContain(created.key.split('_').slice(2).join('_'));
    const response = await call('/reports', created.key);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ subject: `api-key:${created.id}`, ownerId: 'user-7', scopes: ['reports:read'] });
    expect(probe.audit.last('api_key.created')?.details).toMatchObject({ apiKeyId: created.id });
    expect(probe.audit.last('auth.success')?.details).toMatchObject({ apiKeyId: created.id });
    expect((await row(created.id)).last_used_at).not.toBeNull();
    expect(JSON.stringify(probe.audit.events)).not.toContain(created.key);
  });

  it('refuses a key with one character changed, through the same path as an unknown key, and records nothing', async () => {
    const { id, key } = await keys.create({ name: 'k', owner: 'user-1', scopes: ['reports:read'] });
    await probe.db.query(`UPDATE zt_api_keys SET last_used_at = NULL WHERE id = $1`, [id]);
    const last = key.at(-1) === 'A' ? 'B' : 'A';
    queries = 0;
    expect(await refused('/reports', `${key.slice(0, -1)}${last}`)).toBe('invalid_api_key');
    const changedSecretQueries = queries;
    queries = 0;
    expect(await refused('/reports', `ztk_${'0'.repeat(16)}_${key.split('_').slice(2).join('_')}`)).toBe('invalid_api_key');
    // One lookup either way, then the same constant-time comparison (against a dummy hash for an unknown id).
    expect(changedSecretQueries).toBe(1);
    expect(queries).toBe(changedSecretQueries);
    expect((await row(id)).last_used_at).toBeNull();
    expect((await call('/reports', key)).status).toBe(200);
  });

  it('refuses a malformed key, a missing key and two key headers', async () => {
    expect(await refused('/reports', 'ztk_not-a-key')).toBe('malformed_api_key');
    expect(await refused('/reports', undefined)).toBe('missing_api_key');
    const { key } = await keys.create({ name: 'k', owner: 'user-1', scopes: ['reports:read'] });
    const url = new URL(`${probe.base}/reports`);
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest({ host: url.hostname, port: url.port, path: url.pathname, headers: { 'x-api-key': [key, key] } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(401);
  });

  it('refuses an expired key and a revoked one (revocation audited, effective at once)', async () => {
    const expiring = await keys.create({ name: 'k', owner: 'user-1', scopes: ['reports:read'], expiresIn: 60 });
    await probe.db.query(`UPDATE zt_api_keys SET expires_at = now() - interval '1 second' WHERE id = $1`, [expiring.id]);
    expect(await refused('/reports', expiring.key)).toBe('api_key_expired');
    const revoked = await keys.create({ name: 'k', owner: 'user-1', scopes: ['reports:read'] });
    expect((await call('/reports', revoked.key)).status).toBe(200);
    expect(await keys.revoke(revoked.id, 'leaked')).toBe(true);
    expect(probe.audit.last('api_key.revoked')).toMatchObject({ reason: 'leaked', details: { apiKeyId: revoked.id } });
    expect(await refused('/reports', revoked.key)).toBe('api_key_revoked');
    expect((await keys.list('user-1')).find((k) => k.id === revoked.id)?.revokedAt).not.toBeNull();
  });

  it('answers 403 for a key without the scope the route needs', async () => {
    const { key } = await keys.create({ name: 'k', owner: 'user-1', scopes: ['reports:read'] });
    expect(await refused('/admin', key, 403)).toBe('insufficient_scope');
  });

  it('accepts no access token on an API-key route, and no API key as an access token', async () => {
    const token = probe.app.get(TokenService).issueAccessToken({ subject: 'user-1', scopes: ['reports:read', 'admin'] }).accessToken;
    expect((await call('/reports', undefined, { authorization: `Bearer ${token}` })).status).toBe(401);
    const { key } = await keys.create({ name: 'k', owner: 'user-1', scopes: ['reports:read'] });
    expect((await call('/me', undefined, { authorization: `Bearer ${key}` })).status).toBe(401);
  });
});

describe('API keys share the failed-authentication budget of tokens', () => {
  it('answers 429 once an address spent its budget on bad keys, before looking any key up', async () => {
    const probe = await createClientsApp('express', { authFailureLimit: { limit: 3, window: 60 } });
    try {
      const bad = `ztk_${'1'.repeat(16)}_${'A'.repeat(43)}`;
      const statuses = [];
      for (let i = 0; i < 5; i++) statuses.push((await fetch(`${probe.base}/reports`, { headers: { 'x-api-key': bad } })).status);
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
      expect(probe.audit.last('rate_limit.exceeded')?.reason).toBe('auth_failures');
    } finally {
      await probe.app.close();
    }
  });
});

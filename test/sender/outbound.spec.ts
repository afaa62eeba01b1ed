import { OutboundCallRefused, OutboundHttpClient, type ZeroTrustModuleOptions } from 'nestjs-zero-trust';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveZeroTrustOptions } from '../../lib/zero-trust.options.js';
import { createDpopApp, type DpopProbe } from './dpop-app.js';

const SECRET = 'sk_live_the-integration-secret-0123456789';

/** A stand-in for the third party, on loopback: it records what reached it. */
async function fakeProvider(handler: (url: string, res: import('node:http').ServerResponse) => void = (_url, res) => res.end('{"ok":true}')) {
  const seen: { url: string; headers: IncomingHttpHeaders; method?: string }[] = [];
  const server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers, method: req.method });
    handler(req.url ?? '', res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, seen, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}
const close = (server?: Server) => new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));

describe('OutboundHttpClient', () => {
  const dir = mkdtempSync(join(tmpdir(), 'zt-outbound-'));
  const secretFile = join(dir, 'billing-token');
  let provider: Awaited<ReturnType<typeof fakeProvider>>;
  let elsewhere: Awaited<ReturnType<typeof fakeProvider>>;
  let probe: DpopProbe;
  let client: OutboundHttpClient;

  beforeAll(async () => {
    writeFileSync(secretFile, `${SECRET}\n`);
    elsewhere = await fakeProvider();
    provider = await fakeProvider((url, res) => {
      if (url.startsWith('/v1/redirect')) {
        res.writeHead(302, { location: `${elsewhere.origin}/steal` });
        res.end();
      } else if (url.startsWith('/v1/slow')) {
        setTimeout(() => res.end('late'), 2000).unref();
      } else res.end('{"ok":true}');
    });
    probe = await createDpopApp('express', {
      integrations: { billing: { baseUrl: `${provider.origin}/v1`, credentials: { type: 'bearer', token: { file: secretFile } }, timeout: 0.3 } },
    });
    client = probe.app.get(OutboundHttpClient);
  });
  afterAll(async () => {
    await probe?.app.close();
    await close(provider?.server);
    await close(elsewhere?.server);
    rmSync(dir, { recursive: true, force: true });
  });

  it('calls the integration with its credentials from the secrets file, and audits the call without them', async () => {
    const response = await client.request('billing', '/invoices', { query: { page: '2' } });
    expect(response.status).toBe(200);
    const [call] = provider.seen.slice(-1);
    expect(call.url).toBe('/v1/invoices?page=2');
    expect(call.headers.authorization).toBe(`Bearer ${SECRET}`);
    const event = probe.audit.last('outbound.call');
    expect(event).toMatchObject({ outcome: 'success', details: { integration: 'billing', host: new URL(provider.origin).host, method: 'GET', status: 200 } });
    expect(typeof event?.details?.durationMs).toBe('number');
    expect(JSON.stringify(probe.audit.events)).not.toContain(SECRET);
  });

  it('refuses a host off the list, however it is spelled, before anything is sent', async () => {
    const before = elsewhere.seen.length + provider.seen.length;
    for (const target of [`${elsewhere.origin}/x`, 'https://evil.test/x', '//evil.test/x', `http://user:pw@${new URL(provider.origin).host}/v1/x`]) {
      await expect(client.request('billing', target)).rejects.toBeInstanceOf(OutboundCallRefused);
    }
    await expect(client.request('payroll', '/x')).rejects.toThrow(/no such integration/);
    expect(elsewhere.seen.length + provider.seen.length).toBe(before);
    expect(probe.audit.last('outbound.call')).toMatchObject({ outcome: 'denied', reason: 'unknown_integration' });
  });

  it('does not follow a redirect to another host (the credentials would follow it)', async () => {
    const response = await client.request('billing', '/redirect');
    expect(response.status).toBe(302);
    expect(elsewhere.seen).toHaveLength(0);
  });

  it('aborts a call past its timeout, and audits it as failed', async () => {
    await expect(client.request('billing', '/slow')).rejects.toThrow();
    expect(probe.audit.last('outbound.call')).toMatchObject({ outcome: 'failure', reason: 'no_response', details: { integration: 'billing' } });
  });

  it('refuses at boot: plain http off loopback, http anywhere in production, credentials in the URL, an unreadable secrets file', () => {
    const resolve = (integrations: unknown, extra: Record<string, unknown> = {}) => () =>
      resolveZeroTrustOptions({ issuer: 'https://i.test', audience: 'a', integrations, ...extra } as ZeroTrustModuleOptions);
    expect(resolve({ crm: { baseUrl: 'http://crm.example.com' } })).toThrow(/must be https/);
    expect(resolve({ crm: { baseUrl: 'http://127.0.0.1:9000' } })).not.toThrow();
    const keys = [{ kid: 'k', alg: 'ES256', privateKey: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey }];
    expect(resolve({ crm: { baseUrl: 'http://127.0.0.1:9000' } }, { environment: 'production', keys })).toThrow(/must be https/);
    expect(resolve({ crm: { baseUrl: 'https://u:p@crm.example.com' } })).toThrow(/carries credentials/);
    expect(resolve({ crm: { baseUrl: 'https://crm.example.com', credentials: { type: 'bearer', token: { file: join(dir, 'missing') } } } })).toThrow(/secrets file could not be read/);
    expect(resolve({ crm: { baseUrl: 'https://crm.example.com', credentials: { type: 'magic' } } })).toThrow(/integrations/);
    expect(resolve({ crm: { baseUrl: 'https://crm.example.com', timout: 3 } })).toThrow(/Did you mean "timeout"/);
  });
});

import { describe, expect, it } from 'vitest';
import { resolveZeroTrustOptions, type ZeroTrustModuleOptions } from '../../lib/zero-trust.options.js';

const base = { issuer: 'https://issuer.test', audience: 'api' };
const resolve = (extra: Record<string, unknown>) => () => resolveZeroTrustOptions({ ...base, ...extra } as ZeroTrustModuleOptions);

describe('senderConstraint, apiKeys and machineClients options: each bad input refused at boot with the fix', () => {
  it('defaults: DPoP on, not required, ES256/EdDSA/Ed25519, a 60 s window, no nonce; keys and clients on', () => {
    const config = resolveZeroTrustOptions(base);
    expect(config.senderConstraint).toMatchObject({ enabled: true, require: false, dpop: { algorithms: ['ES256', 'EdDSA', 'Ed25519'], proofWindow: 60, origins: [], nonce: false }, mtls: {} });
    expect(config.clients.apiKeys).toEqual({ prefix: 'ztk', header: 'x-api-key', lastUsedInterval: 60 });
    expect(config.clients.machineClients).toMatchObject({ accessTokenTtl: 300, rotationOverlap: 86400, maxAssertionLifetime: 300 });
  });

  it('setting one field keeps the defaults of the others', () => {
    const config = resolveZeroTrustOptions({ ...base, senderConstraint: { dpop: { proofWindow: 30 } } });
    expect(config.senderConstraint.dpop).toMatchObject({ proofWindow: 30, algorithms: ['ES256', 'EdDSA', 'Ed25519'] });
  });

  it('senderConstraint: false keeps the checks able to refuse bound tokens', () => {
    expect(resolveZeroTrustOptions({ ...base, senderConstraint: false }).senderConstraint).toMatchObject({ enabled: false, require: false });
  });

  it.each([
    [{ senderConstraint: { requre: true } }, /Did you mean "require"/],
    [{ senderConstraint: { require: 'true' } }, /senderConstraint.require must be true or false/],
    [{ senderConstraint: { dpop: { algorithms: ['none'] } } }, /senderConstraint.dpop.algorithms\[0\]/],
    [{ senderConstraint: { dpop: { algorithms: ['HS256'] } } }, /senderConstraint.dpop.algorithms\[0\]/],
    [{ senderConstraint: { dpop: { algorithms: [] } } }, /senderConstraint.dpop.algorithms/],
    [{ senderConstraint: { dpop: { proofWindow: 3600 } } }, /proofWindow must be a number of seconds from 1 to 300/],
    [{ senderConstraint: { dpop: { origins: ['https://api.test/path'] } } }, /origins\[0\]/],
    [{ senderConstraint: { dpop: { origins: ['http://api.test'] } } }, /plain http/],
    [{ senderConstraint: { dpop: { nonce: { secret: 'short' } } } }, /at least 32 characters/],
    [{ senderConstraint: { mtls: { certificateHeader: 'x-client-cert' } } }, /needs `trustProxy` as a list/],
    [{ apiKeys: { prefix: 'ZT_' } }, /apiKeys.prefix/],
    [{ machineClients: { tokenEndpoint: 'http://auth.example.com/token' } }, /https URL/],
    [{ machineClients: { rotationOverlap: -1 } }, /rotationOverlap/],
  ])('refuses %j', (extra, message) => {
    expect(resolve(extra)).toThrow(message);
  });
});

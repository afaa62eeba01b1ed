import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { resolveZeroTrustOptions, type ZeroTrustModuleOptions } from './zero-trust.options.js';

const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const base: ZeroTrustModuleOptions = { issuer: 'https://issuer.test', audience: 'api', keys: [{ kid: 'k1', alg: 'ES256', privateKey: ec.privateKey }] };
const resolve = (extra: Partial<ZeroTrustModuleOptions> & Record<string, unknown>) => () => resolveZeroTrustOptions({ ...base, ...extra } as ZeroTrustModuleOptions);

describe('resolveZeroTrustOptions', () => {
  it('defaults every field on its own', () => {
    const config = resolveZeroTrustOptions({ ...base, accessTokenTtl: 300 });
    expect(config).toMatchObject({ accessTokenTtl: 300, maxTokenLifetime: 900, clockTolerance: 5, bodyLimit: 102400, algorithms: ['ES256'] });
    expect(config.allowedContentTypes).toEqual(['application/json']);
    expect(config.keyRing.signingKey?.kid).toBe('k1');
  });

  it('refuses alg none, with a reason', () => {
    expect(resolve({ algorithms: ['none' as never] })).toThrow(/unsigned tokens are never accepted/);
  });

  it('refuses EdDSA and says why', () => {
    expect(resolve({ algorithms: ['EdDSA' as never] })).toThrow(/jsonwebtoken 9/);
  });

  it('refuses an HS256 secret shorter than 32 bytes', () => {
    expect(resolve({ algorithms: ['HS256'], keys: [{ kid: 'h', alg: 'HS256', secret: 'x'.repeat(31) }] })).toThrow(/at least 32 bytes/);
    expect(resolve({ algorithms: ['HS256'], keys: [{ kid: 'h', alg: 'HS256', secret: 'x'.repeat(32) }] })).not.toThrow();
  });

  it('refuses a key whose algorithm is not allowed', () => {
    expect(resolve({ algorithms: ['RS256'] })).toThrow(/ES256 key but algorithms allows only RS256/);
  });

  it('refuses a key of the wrong type for its algorithm', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    expect(resolve({ keys: [{ kid: 'k', alg: 'ES256', privateKey: rsa.privateKey }] })).toThrow(/needs an EC P-256 key/);
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });
    expect(resolve({ algorithms: ['RS256'], keys: [{ kid: 'k', alg: 'RS256', privateKey: weak.privateKey }] })).toThrow(/at least 2048 bits/);
  });

  it('refuses a public key that does not match the private key', () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    expect(resolve({ keys: [{ kid: 'k', alg: 'ES256', privateKey: ec.privateKey, publicKey: other.publicKey }] })).toThrow(/does not belong/);
  });

  it('refuses duplicate and unsafe kids', () => {
    expect(resolve({ keys: [base.keys![0], base.keys![0]] })).toThrow(/used twice/);
    expect(resolve({ keys: [{ ...base.keys![0], kid: '../k' }] })).toThrow(/kid must be/);
  });

  it('refuses a maximum token lifetime over 60 minutes and a TTL over the maximum', () => {
    expect(resolve({ maxTokenLifetime: 3601 })).toThrow(/maxTokenLifetime/);
    expect(resolve({ accessTokenTtl: 1000 })).toThrow(/accessTokenTtl/);
  });

  it('suggests the right name for a misspelled option', () => {
    expect(resolve({ audiance: 'x' })).toThrow(/unknown option "audiance". Did you mean "audience"\?/);
  });

  it('requires issuer and audience', () => {
    expect(resolve({ issuer: '' })).toThrow(/issuer is required/);
    expect(resolve({ audience: [] })).toThrow(/at least one audience/);
  });

  it('generates an ephemeral key outside production, and refuses to start without keys in production', () => {
    expect(resolveZeroTrustOptions({ issuer: 'i', audience: 'a', environment: 'development' }).keyRing.signingKey?.alg).toBe('ES256');
    expect(() => resolveZeroTrustOptions({ issuer: 'i', audience: 'a', environment: 'production' })).toThrow(/no signing keys configured in production/);
  });

  it('refuses header overrides that could inject headers', () => {
    expect(resolve({ securityHeaders: { 'X-Test': 'a\r\nSet-Cookie: x=1' } })).toThrow(/without CR, LF/);
    expect(resolve({ securityHeaders: { 'Bad Header': 'x' } })).toThrow(/not a valid header name/);
  });

  it('never publishes an HS256 secret in the JWKS', () => {
    const config = resolveZeroTrustOptions({
      ...base,
      algorithms: ['ES256', 'HS256'],
      keys: [...base.keys!, { kid: 'h', alg: 'HS256', secret: 's'.repeat(40) }],
    });
    expect(config.keyRing.publicJwks().keys.map((k) => k.kid)).toEqual(['k1']);
  });
});

import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from './store/zero-trust-store.js';
import { resolveZeroTrustOptions, type ZeroTrustModuleOptions } from './zero-trust.options.js';

const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const base: ZeroTrustModuleOptions = { issuer: 'https://issuer.test', audience: 'api', keys: [{ kid: 'k1', alg: 'ES256', privateKey: ec.privateKey }] };
const resolve = (extra: Record<string, unknown>) => () => resolveZeroTrustOptions({ ...base, ...extra } as ZeroTrustModuleOptions);

describe('resolveZeroTrustOptions', () => {
  it('defaults every field on its own', () => {
    const config = resolveZeroTrustOptions({ ...base, accessTokenTtl: 300 });
    expect(config.auth).toMatchObject({ accessTokenTtl: 300, maxTokenLifetime: 900, clockTolerance: 5, algorithms: ['ES256'] });
    expect(config.http.bodyLimit).toBe(102_400);
    expect([...config.http.allowedContentTypes]).toEqual(['application/json']);
    expect(config.auth.keyRing.signingKey?.kid).toBe('k1');
    expect(config.throttle.throttle).toEqual({ default: { limit: 100, window: 60, block: 0 }, auth: { limit: 10, window: 60, block: 0 } });
    expect(config.throttle.lockout).toEqual({ threshold: 5, window: 900, duration: 900, maxDuration: 86_400 });
    expect(config.sessions).toBe(false);
    expect(config.database).toEqual({ rowLevelSecurity: false, dataSource: undefined, databasePrivileges: 'check', transportSecurity: 'check' });
    expect(config.authz).toEqual({ authorization: 'strict', maxPageSize: 100 });
    expect(config.monitoring.anomalyRules.map((rule) => rule.name)).toEqual(['bola_probe', 'distributed_login_failure']);
    expect(config.audit.sinks).toHaveLength(1);
  });

  it('keeps the siblings of a field that is set (a nested default is never dropped)', () => {
    const config = resolveZeroTrustOptions({ ...base, throttle: { auth: { limit: 3 } }, lockout: { threshold: 2 }, sessions: { idleTimeout: 600 } });
    expect(config.throttle.throttle).toEqual({ default: { limit: 100, window: 60, block: 0 }, auth: { limit: 3, window: 60, block: 0 } });
    expect(config.throttle.lockout).toMatchObject({ threshold: 2, window: 900, duration: 900 });
    expect(config.sessions).toEqual({ refreshTokenTtl: 2_592_000, idleTimeout: 600, revocationCacheTtl: 1, refreshGracePeriod: 2 });
  });

  it('reads an empty object or true as "on, with the defaults", never as off', () => {
    expect(resolveZeroTrustOptions({ ...base, throttle: {} }).throttle.throttle).not.toBe(false);
    expect(resolveZeroTrustOptions({ ...base, lockout: true }).throttle.lockout).toMatchObject({ threshold: 5 });
    expect(resolveZeroTrustOptions({ ...base, sessions: {} }).sessions).toMatchObject({ revocationCacheTtl: 1 });
  });

  it('keeps the logger sink beside an added sink unless told otherwise', () => {
    const sink = { write: () => undefined };
    expect(resolveZeroTrustOptions({ ...base, auditSinks: [sink] }).audit.sinks).toHaveLength(2);
    expect(resolveZeroTrustOptions({ ...base, auditSinks: [sink], audit: { loggerSink: false } }).audit.sinks).toEqual([sink]);
  });

  it('takes a store object of the app (the store port)', () => {
    const store = new MemoryStore();
    expect(resolveZeroTrustOptions({ ...base, store }).store.store).toEqual({ kind: 'custom', store });
    void store.close();
  });

  it('refuses alg none, with a reason', () => {
    expect(resolve({ algorithms: ['none'] })).toThrow(/unsigned tokens are never accepted/);
  });

  it('accepts EdDSA keys (Ed25519)', () => {
    const ed = generateKeyPairSync('ed25519');
    const config = resolveZeroTrustOptions({ ...base, algorithms: ['EdDSA'], keys: [{ kid: 'e', alg: 'EdDSA', privateKey: ed.privateKey }] });
    expect(config.auth.keyRing.signingKey?.alg).toBe('EdDSA');
    expect(resolve({ algorithms: ['EdDSA'], keys: [{ kid: 'e', alg: 'EdDSA', privateKey: ec.privateKey }] })).toThrow(/needs an Ed25519 key/);
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
    expect(resolve({ maxTokenLifetime: 3601 })).toThrow(/maxTokenLifetime must be a number of seconds from 1 to 3600/);
    expect(resolve({ accessTokenTtl: 1000 })).toThrow(/accessTokenTtl \(1000\) is longer than maxTokenLifetime/);
  });

  it('requires issuer and audience', () => {
    expect(resolve({ issuer: '' })).toThrow(/issuer must be a non-empty string/);
    expect(resolve({ audience: [] })).toThrow(/audience must be a non-empty string or a non-empty list/);
  });

  it('generates an ephemeral key outside production, and refuses to start without keys in production', () => {
    expect(resolveZeroTrustOptions({ issuer: 'i', audience: 'a', environment: 'development' }).auth.keyRing.signingKey?.alg).toBe('ES256');
    expect(() => resolveZeroTrustOptions({ issuer: 'i', audience: 'a', environment: 'production' })).toThrow(/no signing keys configured in production/);
  });

  it('never publishes an HS256 secret in the JWKS', () => {
    const config = resolveZeroTrustOptions({
      ...base,
      algorithms: ['ES256', 'HS256'],
      keys: [...base.keys!, { kid: 'h', alg: 'HS256', secret: 's'.repeat(40) }],
    });
    expect(config.auth.keyRing.publicJwks().keys.map((k) => k.kid)).toEqual(['k1']);
  });

  it('says what an old option name became', () => {
    expect(resolve({ redis: 'redis://127.0.0.1:6379' })).toThrow(/option "redis" was renamed: use store/);
    expect(resolve({ redisKeyPrefix: 'x:' })).toThrow(/use storeKeyPrefix/);
  });
});

describe('security headers are typed per header', () => {
  it('names the header meant by a misspelled one, instead of adding a new header beside the default', () => {
    expect(resolve({ securityHeaders: { 'Content-Security-Polcy': "default-src 'self'" } })).toThrow(
      /unknown header "Content-Security-Polcy" in securityHeaders. Did you mean "Content-Security-Policy"\?/,
    );
  });

  it('matches known names case-insensitively and replaces the default', () => {
    const headers = resolveZeroTrustOptions({ ...base, securityHeaders: { 'cache-control': 'private' } as never }).http.headers;
    expect(headers.set.filter(([name]) => name.toLowerCase() === 'cache-control')).toEqual([['Cache-Control', 'private']]);
  });

  it('removes a header set to false, and builds HSTS from fields', () => {
    const headers = resolveZeroTrustOptions({
      ...base,
      securityHeaders: { 'X-Frame-Options': false, 'Strict-Transport-Security': { maxAge: 31_536_000, preload: false } },
    }).http.headers;
    expect(headers.remove).toContain('X-Frame-Options');
    expect(headers.set).toContainEqual(['Strict-Transport-Security', 'max-age=31536000; includeSubDomains']);
  });

  it('takes headers of the app only in custom, and never a known one there', () => {
    expect(resolveZeroTrustOptions({ ...base, securityHeaders: { custom: { 'X-Api-Version': '1' } } }).http.headers.set).toContainEqual(['X-Api-Version', '1']);
    expect(resolve({ securityHeaders: { custom: { 'Cache-Control': 'public' } } })).toThrow(/set Cache-Control through its own field/);
  });

  it.each([
    ['a value with CR/LF', { custom: { 'X-Test': 'a\r\nSet-Cookie: x=1' } }, /without CR, LF or NUL/],
    ['an invalid header name', { custom: { 'Bad Header': 'x' } }, /not a valid header name/],
    ['an unknown X-Frame-Options value', { 'X-Frame-Options': 'ALLOWALL' }, /must be one of "DENY", "SAMEORIGIN"/],
    ['a Referrer-Policy that is not one', { 'Referrer-Policy': 'never' }, /Referrer-Policy/],
    ['HSTS preload without a year', { 'Strict-Transport-Security': { maxAge: 60 } }, /preload needs maxAge of at least 31536000/],
    ['a misspelled HSTS field', { 'Strict-Transport-Security': { maxage: 60 } }, /Did you mean "maxAge"\?/],
    ['a number for a header', { 'Cache-Control': 0 }, /must be a non-empty string/],
    ['a list for the whole option', ['Cache-Control'], /securityHeaders must be an object/],
  ])('refuses %s', (_name, securityHeaders, error) => {
    expect(resolve({ securityHeaders })).toThrow(error);
  });
});

/**
 * A typo and a wrong type at every depth of every feature's options: each must stop the app at boot
 * with a message that names the option, instead of silently switching a defence off.
 */
describe('options are checked at every depth of every feature', () => {
  it.each([
    // root
    ['a misspelled top-level name', { audiance: 'x' }, /unknown option "audiance". Did you mean "audience"\?/],
    ['options that are not an object', null, /needs an options object/],
    // core
    ['environment as a number', { environment: 1 }, /environment must be a non-empty string/],
    ['a clock without now()', { clock: {} }, /clock must be an object with a now\(\) method/],
    // auth
    ['a misspelled key field', { keys: [{ kid: 'k', alg: 'ES256', privatekey: ec.privateKey }] }, /unknown option "keys\[0\].privatekey". Did you mean "privateKey"\?/],
    ['keys as one object', { keys: { kid: 'k' } }, /keys must be a list/],
    ['an unknown algorithm', { algorithms: ['ES512'] }, /algorithms\[0\] must be one of/],
    ['a TTL as a string', { accessTokenTtl: '900' }, /accessTokenTtl must be a number of seconds/],
    ['a negative clock tolerance', { clockTolerance: -1 }, /clockTolerance must be a number of seconds from 0 to 60/],
    ['a misspelled external issuer field', { externalIssuers: [{ issuer: 'https://idp', jwksUri: 'https://idp/jwks', audience: 'api', cachettl: 5 }] }, /externalIssuers\[0\].cachettl". Did you mean "cacheTtl"\?/],
    ['an external issuer over plain http', { externalIssuers: [{ issuer: 'https://idp', jwksUri: 'http://idp.example/jwks', audience: 'api' }] }, /jwksUri must be an https URL/],
    ['an unknown claims preset', { externalIssuers: [{ issuer: 'https://idp', jwksUri: 'https://idp/jwks', audience: 'api', claims: 'okta' }] }, /claims must be one of "standard", "auth0", "keycloak", "entra"/],
    ['a misspelled serviceAudiences', { externalIssuers: [{ issuer: 'https://idp', jwksUri: 'https://idp/jwks', audience: 'api', serviceAudience: ['worker'] }] }, /unknown option "externalIssuers\[0\].serviceAudience". Did you mean "serviceAudiences"\?/],
    ['serviceAudiences as one string', { externalIssuers: [{ issuer: 'https://idp', jwksUri: 'https://idp/jwks', audience: 'api', serviceAudiences: 'worker' }] }, /externalIssuers\[0\].serviceAudiences must be a list of a non-empty string \(got "worker"\)/],
    ['an empty service audience', { externalIssuers: [{ issuer: 'https://idp', jwksUri: 'https://idp/jwks', audience: 'api', serviceAudiences: [''] }] }, /externalIssuers\[0\].serviceAudiences\[0\] must be a non-empty string/],
    ['a service audience that is also a user audience', { externalIssuers: [{ issuer: 'https://idp', jwksUri: 'https://idp/jwks', audience: ['web', 'api'], serviceAudiences: ['api'] }] }, /externalIssuers\[0\].serviceAudiences lists "api", which is also in externalIssuers\[0\].audience/],
    ['requireAccessTokenType as a string', { externalIssuers: [{ issuer: 'https://idp', jwksUri: 'https://idp/jwks', audience: 'api', requireAccessTokenType: 'false' }] }, /requireAccessTokenType must be true or false \(got "false"\)/],
    // sessions
    ['a misspelled session field', { sessions: { idleTimout: 60 } }, /unknown option "sessions.idleTimout". Did you mean "idleTimeout"\?/],
    ['the old revocationCacheMs', { sessions: { revocationCacheMs: 1000 } }, /unknown option "sessions.revocationCacheMs". Did you mean "revocationCacheTtl"\?/],
    ['sessions as a string', { sessions: 'on' }, /sessions must be false, true or an object/],
    ['an idle timeout longer than the session', { sessions: { refreshTokenTtl: 3600, idleTimeout: 7200 } }, /must not be longer than sessions.refreshTokenTtl/],
    ['a negative refresh grace period', { sessions: { refreshGracePeriod: -1 } }, /sessions.refreshGracePeriod must be a number of seconds from 0 to 60/],
    ['a grants port without grantsOf', { sessions: { grants: {} } }, /sessions.grants must be an object with grantsOf\(subject\)/],
    // accounts
    ['accounts without a directory', { sessions: {}, accounts: {} }, /accounts.directory must be an AccountDirectory/],
    ['a misspelled accounts field', { sessions: {}, accounts: { directory: class Users {}, totpEncrytionKey: 'x' } }, /unknown option "accounts.totpEncrytionKey". Did you mean "totpEncryptionKey"\?/],
    ['a TOTP key of the wrong size', { sessions: {}, accounts: { directory: class Users {}, totpEncryptionKey: 'c2hvcnQ=' } }, /accounts.totpEncryptionKey must be 32 bytes, base64-encoded \(generate one with: openssl rand -base64 32\)/],
    ['code guesses as a string', { sessions: {}, accounts: { directory: class Users {}, codeGuesses: { limit: '5' } } }, /accounts.codeGuesses.limit must be a whole number from 1 to 100/],
    ['accounts without sessions', { accounts: { directory: class Users {} } }, /turn them on as well/],
    // http
    ['a body limit as a string', { bodyLimit: '100kb' }, /bodyLimit must be a whole number of bytes >= 1/],
    ['an empty content-type list', { allowedContentTypes: [] }, /allowedContentTypes must be a list of at least 1/],
    ['a content type that is not one', { allowedContentTypes: ['json'] }, /allowedContentTypes\[0\] must be a media type/],
    ['a forged trustProxy', { trustProxy: 'all' }, /trustProxy must be a hop count or a list/],
    // validation
    ['a misspelled validation bound', { validation: { maxValue: 10 } }, /unknown option "validation.maxValue". Did you mean "maxValues"\?/],
    ['a validation bound as a string', { validation: { maxDepth: '32' } }, /validation.maxDepth must be a whole number from 1 to 1000/],
    // store
    ['a store that is not one', { store: 'localhost:6379' }, /store must be a redis:\/\/ or rediss:\/\/ URL/],
    ['a misspelled failure mode', { onStoreFailure: { auth: 'close' } }, /onStoreFailure.auth must be one of "closed", "open" \(got "close"\). Did you mean "closed"\?/],
    ['a misspelled failure kind', { onStoreFailure: { defualt: 'open' } }, /unknown option "onStoreFailure.defualt". Did you mean "default"\?/],
    // shutdown
    ['a misspelled drain field', { shutdown: { drainSecond: 5 } }, /unknown option "shutdown.drainSecond". Did you mean "drainSeconds"\?/],
    ['a drain as a string', { shutdown: { drainSeconds: '10' } }, /shutdown.drainSeconds must be a number of seconds/],
    // throttle
    ['a misspelled limit name', { throttle: { defualt: { limit: 5 } } }, /unknown option "throttle.defualt". Did you mean "default"\?/],
    ['the old windowMs', { throttle: { auth: { windowMs: 60_000 } } }, /unknown option "throttle.auth.windowMs". Did you mean "window"\?/],
    ['a limit as a string', { throttle: { default: { limit: '100' } } }, /throttle.default.limit must be a whole number >= 1/],
    ['a misspelled lockout field', { lockout: { threshhold: 5 } }, /unknown option "lockout.threshhold". Did you mean "threshold"\?/],
    ['a lockout threshold of 0', { lockout: { threshold: 0 } }, /lockout.threshold must be a whole number from 1 to 1000/],
    ['a lock shorter than its maximum', { lockout: { duration: 600, maxDuration: 60 } }, /lockout.maxDuration must be at least lockout.duration/],
    // database
    ['rowLevelSecurity as the string "true"', { rowLevelSecurity: 'true' }, /rowLevelSecurity must be false or an object with identityKey \(got "true"\)/],
    ['rowLevelSecurity: true without its identity key', { rowLevelSecurity: true }, /rowLevelSecurity: true is not enough: give \{ identityKey \}/],
    ['a short identity key', { rowLevelSecurity: { identityKey: 'short' } }, /rowLevelSecurity.identityKey must be a secret of at least 32 bytes/],
    ['a misspelled identity key field', { rowLevelSecurity: { identitykey: 'k'.repeat(40) } }, /unknown option "rowLevelSecurity.identitykey". Did you mean "identityKey"\?/],
    ['a misspelled privilege mode', { databasePrivileges: 'of' }, /databasePrivileges must be one of "check", "off"/],
    ['a dataSource that is no token', { dataSource: 42 }, /dataSource must be an injection token/],
    // authz
    ['a misspelled authorization mode', { authorization: 'strcit' }, /authorization must be one of "strict", "report" \(got "strcit"\). Did you mean "strict"\?/],
    ['a page size of 0', { maxPageSize: 0 }, /maxPageSize must be a whole number from 1 to 10000/],
    // audit
    ['a sink without write()', { auditSinks: [{}] }, /auditSinks\[0\] must be an audit sink/],
    ['a misspelled audit field', { audit: { loggersink: false } }, /unknown option "audit.loggersink". Did you mean "loggerSink"\?/],
    ['authSuccess as true', { audit: { authSuccess: true } }, /audit.authSuccess must be one of "count", "all"/],
    // monitoring
    ['anomalyRules as an empty object', { anomalyRules: {} }, /anomalyRules must be a list of at least 1/],
    ['anomalyRules as an empty list', { anomalyRules: [] }, /anomalyRules must be a list of at least 1/],
  ])('refuses %s', (_name, options, error) => {
    expect(() => resolveZeroTrustOptions((options === null ? null : { ...base, ...(options as object) }) as ZeroTrustModuleOptions)).toThrow(error);
  });
});

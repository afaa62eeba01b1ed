import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { CoreConfig } from '../core/core.options.js';
import { array, custom, isPlainObject, object, optional, record, seconds, string } from '../core/option-schema.js';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';

/** A secret given inline (from an environment variable) or as a file path (a mounted secret), read once at boot. */
export type SecretSource = string | { file: string };

export type IntegrationCredentials =
  | { type: 'bearer'; token: SecretSource }
  | { type: 'basic'; username: string; password: SecretSource }
  | { type: 'header'; name: string; value: SecretSource };

export interface IntegrationOptions {
  /** Where the integration lives, e.g. `https://api.stripe.com/v1`. https only (http for loopback outside production). */
  baseUrl: string;
  /** Other hosts this integration may be called at with an absolute URL (e.g. a file CDN). Default none. */
  allowedHosts?: string[];
  /** Sent with every call to this integration; never logged, never audited. */
  credentials?: IntegrationCredentials;
  /** Seconds before a call is aborted. Default 10, at most 120. */
  timeout?: number;
}

export interface IntegrationsOptions {
  /**
   * Outbound integrations (`OutboundHttpClient`): one entry per third party, by name. A call names its
   * integration and goes only to that integration's hosts. Default none.
   */
  integrations?: Record<string, IntegrationOptions>;
}

const secretSource = custom<SecretSource>('a string, or { file: "<path>" }', (value) =>
  typeof value === 'string' && value !== '' ? value : isPlainObject(value) && typeof value.file === 'string' && Object.keys(value).length === 1 ? { file: value.file } : undefined,
);

const credentialsSchema = custom<IntegrationCredentials>('{ type: "bearer" | "basic" | "header", … }', (value, path) => {
  if (!isPlainObject(value)) return undefined;
  switch (value.type) {
    case 'bearer':
      return object({ type: string(), token: secretSource }).parse(value, path) as IntegrationCredentials;
    case 'basic':
      return object({ type: string(), username: string(), password: secretSource }).parse(value, path) as IntegrationCredentials;
    case 'header':
      return object({ type: string(), name: string({ pattern: /^[A-Za-z0-9-]+$/, expected: 'a header name' }), value: secretSource }).parse(value, path) as IntegrationCredentials;
    default:
      return undefined;
  }
});

export const integrationsOptionsSchema = object({
  integrations: record(
    object({
      baseUrl: string(),
      allowedHosts: array(string({ pattern: /^[a-z0-9.-]+(:\d+)?$/i, expected: 'a host name such as "files.example.com"' }), { default: [] }),
      credentials: optional(credentialsSchema),
      timeout: seconds({ min: 0.01, max: 120, default: 10 }),
    }),
    { key: /^[a-z][a-z0-9-]{0,62}$/, keyExpected: 'an integration name such as "billing"' },
  ),
});

export interface ResolvedIntegration {
  readonly name: string;
  readonly baseUrl: URL;
  /** `host:port` (port only when not the default) of every host the integration may be called at. */
  readonly hosts: ReadonlySet<string>;
  /** The credential header, resolved once at boot. */
  readonly authorization?: { readonly name: string; readonly value: string };
  readonly timeout: number;
}

export interface IntegrationsConfig {
  readonly integrations: ReadonlyMap<string, ResolvedIntegration>;
  /** Plain http to loopback addresses is allowed outside production (local fakes of a provider). */
  readonly loopbackHttp: boolean;
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

export function isLoopback(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname) || (isIP(hostname) === 4 && hostname.startsWith('127.'));
}

export function resolveIntegrationsOptions(raw: Record<string, unknown>, core: CoreConfig): IntegrationsConfig {
  const given = raw.integrations === undefined ? { integrations: {} } : integrationsOptionsSchema.pick(raw);
  const loopbackHttp = !core.production;
  const integrations = new Map<string, ResolvedIntegration>();
  for (const [name, options] of Object.entries(given.integrations)) {
    const path = `integrations.${name}`;
    let baseUrl: URL;
    try {
      baseUrl = new URL(options.baseUrl);
    } catch {
      throw new ZeroTrustConfigurationError(`${path}.baseUrl: "${options.baseUrl}" is not a URL.`);
    }
    if (baseUrl.username || baseUrl.password) throw new ZeroTrustConfigurationError(`${path}.baseUrl carries credentials: put them in ${path}.credentials (never logged).`);
    if (baseUrl.protocol !== 'https:' && !(baseUrl.protocol === 'http:' && loopbackHttp && isLoopback(baseUrl.hostname))) {
      throw new ZeroTrustConfigurationError(`${path}.baseUrl must be https (plain http is accepted for loopback addresses outside production only): credentials and data would cross the network in clear.`);
    }
    integrations.set(name, {
      name,
      baseUrl,
      hosts: new Set([baseUrl.host, ...options.allowedHosts.map((host) => host.toLowerCase())]),
      authorization: options.credentials ? authorizationOf(options.credentials, `${path}.credentials`) : undefined,
      timeout: options.timeout,
    });
  }
  return { integrations, loopbackHttp };
}

function authorizationOf(credentials: IntegrationCredentials, path: string): { name: string; value: string } {
  switch (credentials.type) {
    case 'bearer':
      return { name: 'authorization', value: `Bearer ${secret(credentials.token, `${path}.token`)}` };
    case 'basic':
      return { name: 'authorization', value: `Basic ${Buffer.from(`${credentials.username}:${secret(credentials.password, `${path}.password`)}`).toString('base64')}` };
    case 'header':
      return { name: credentials.name.toLowerCase(), value: secret(credentials.value, `${path}.value`) };
  }
}

function secret(source: SecretSource, path: string): string {
  if (typeof source === 'string') return source;
  let value: string;
  try {
    value = readFileSync(source.file, 'utf8').trim();
  } catch (error) {
    throw new ZeroTrustConfigurationError(`${path}: the secrets file could not be read (${(error as NodeJS.ErrnoException).code ?? 'error'}). Mount it, or give the value inline.`);
  }
  if (value === '') throw new ZeroTrustConfigurationError(`${path}: the secrets file is empty.`);
  return value;
}

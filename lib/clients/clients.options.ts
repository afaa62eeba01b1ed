import { disableable, object, optional, seconds, string } from '../core/option-schema.js';

export interface ApiKeyOptions {
  /** The prefix of every key (`<prefix>_<id>_<secret>`), so secret scanners and people recognise one. Default `ztk`. */
  prefix?: string;
  /** Request header carrying the key (never the query string, which ends up in logs). Default `x-api-key`. */
  header?: string;
  /** How often, at most, a key's `last_used_at` is written, in seconds (a write per request would cost more than the check). Default 60. */
  lastUsedInterval?: number;
}

export interface MachineClientOptions {
  /**
   * The token endpoint's URL as clients address it: the `aud` their private_key_jwt assertions must
   * name (RFC 7523 §3 item 3). Required for private_key_jwt.
   */
  tokenEndpoint?: string;
  /** Lifetime of client-credentials access tokens, in seconds. Default 300; at most `maxTokenLifetime`. */
  accessTokenTtl?: number;
  /** How long, in seconds, the previous secret keeps working after a rotation. Default 86400 (a day). */
  rotationOverlap?: number;
  /** Longest `exp - iat` accepted for a client assertion, in seconds. Default 300. */
  maxAssertionLifetime?: number;
}

export interface ClientsOptions {
  /** API keys for integrations that cannot do OAuth (`ApiKeyService`, `@ApiKeyAuth()`). Needs the ZeroTrustClients migration. Default: on. */
  apiKeys?: ApiKeyOptions | boolean;
  /** Machine clients (OAuth client credentials: `MachineClientService`). Needs the ZeroTrustClients migration. Default: on. */
  machineClients?: MachineClientOptions | boolean;
}

export const clientsOptionsSchema = object({
  apiKeys: disableable(
    object({
      prefix: string({ pattern: /^[a-z][a-z0-9]{1,9}$/, expected: '2-10 lowercase letters and digits, starting with a letter', default: 'ztk' }),
      header: string({ pattern: /^[a-z0-9-]+$/, expected: 'a lowercase header name', default: 'x-api-key' }),
      lastUsedInterval: seconds({ min: 0, max: 86_400, default: 60 }),
    }),
    { default: 'on' },
  ),
  machineClients: disableable(
    object({
      tokenEndpoint: optional(string({ pattern: /^https:\/\/|^http:\/\/(localhost|127\.0\.0\.1|\[::1\])[:/]/, expected: 'an https URL (http only for loopback)' })),
      accessTokenTtl: seconds({ min: 1, max: 3600, default: 300 }),
      rotationOverlap: seconds({ min: 0, max: 30 * 86_400, default: 86_400 }),
      maxAssertionLifetime: seconds({ min: 1, max: 3600, default: 300 }),
    }),
    { default: 'on' },
  ),
});

export interface ClientsConfig {
  readonly apiKeys: false | { readonly prefix: string; readonly header: string; readonly lastUsedInterval: number };
  readonly machineClients: false | { readonly tokenEndpoint?: string; readonly accessTokenTtl: number; readonly rotationOverlap: number; readonly maxAssertionLifetime: number };
}

export function resolveClientsOptions(raw: Record<string, unknown>): ClientsConfig {
  return clientsOptionsSchema.pick(raw);
}

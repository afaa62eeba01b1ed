import { array, custom, integer, object, string } from '../core/option-schema.js';
import { ClientIpResolver } from './client-ip.js';
import { type ResolvedHeaders, resolveSecurityHeaders, type SecurityHeadersOptions } from './security-headers.js';

export interface HttpOptions {
  /** Largest request body accepted, in bytes; larger ones get 413. Default 102400 (100 kB). */
  bodyLimit?: number;
  /** Media types a request body may have; others get 415. Default `['application/json']`. */
  allowedContentTypes?: string[];
  /** App-wide header overrides, typed per header: a value replaces the default, `false` removes the header. */
  securityHeaders?: SecurityHeadersOptions;
  /**
   * Proxies whose X-Forwarded-For entries are believed: a hop count (`1` behind one load balancer) or
   * a list of their addresses/CIDRs. Default: none, so the client is the socket's peer.
   */
  trustProxy?: number | string[];
}

export const httpOptionsSchema = object({
  bodyLimit: integer({ min: 1, default: 100 * 1024, unit: 'bytes' }),
  allowedContentTypes: array(string({ pattern: /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/i, expected: 'a media type such as "application/json"' }), {
    minItems: 1,
    default: ['application/json'],
  }),
  securityHeaders: custom<ResolvedHeaders>('an object of typed header overrides', (value) => resolveSecurityHeaders(value)),
  trustProxy: custom<ClientIpResolver>('a hop count or a list of proxy addresses/CIDRs', (value) => new ClientIpResolver(value as number | string[] | undefined)),
});

export interface HttpConfig {
  readonly bodyLimit: number;
  readonly allowedContentTypes: ReadonlySet<string>;
  readonly headers: ResolvedHeaders;
  readonly clientIp: ClientIpResolver;
}

export function resolveHttpOptions(raw: Record<string, unknown>): HttpConfig {
  const given = httpOptionsSchema.pick(raw);
  return {
    bodyLimit: given.bodyLimit,
    allowedContentTypes: new Set(given.allowedContentTypes.map((type) => type.toLowerCase())),
    headers: given.securityHeaders,
    clientIp: given.trustProxy,
  };
}

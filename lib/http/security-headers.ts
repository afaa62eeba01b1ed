import type { ServerResponse } from 'node:http';
import { describe, didYouMean, isPlainObject } from '../core/option-schema.js';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';

const REFERRER_POLICIES = [
  'no-referrer', 'no-referrer-when-downgrade', 'origin', 'origin-when-cross-origin', 'same-origin', 'strict-origin',
  'strict-origin-when-cross-origin', 'unsafe-url',
] as const;

/** HSTS as fields (RFC 6797 §6.1); `maxAge` in seconds, like every duration option. */
export interface StrictTransportSecurityOptions {
  /** Default 63072000 (two years). */
  maxAge?: number;
  /** Default true. */
  includeSubDomains?: boolean;
  /** Default true; needs `maxAge` of at least a year and `includeSubDomains` (the preload list's rules). */
  preload?: boolean;
}

/**
 * Typed overrides, one field per header (helmet-style): a value replaces the default, `false` removes
 * the header. Names are checked: a misspelled one is an error naming the closest header, never a new
 * header beside the untouched default. Headers of your own go in `custom`.
 */
export interface SecurityHeadersOptions {
  'Content-Security-Policy'?: string | false;
  'Strict-Transport-Security'?: string | StrictTransportSecurityOptions | false;
  'X-Content-Type-Options'?: 'nosniff' | false;
  'X-Frame-Options'?: 'DENY' | 'SAMEORIGIN' | false;
  'Referrer-Policy'?: (typeof REFERRER_POLICIES)[number] | Array<(typeof REFERRER_POLICIES)[number]> | false;
  'Permissions-Policy'?: string | false;
  'Cross-Origin-Opener-Policy'?: 'same-origin' | 'same-origin-allow-popups' | 'unsafe-none' | false;
  'Cross-Origin-Resource-Policy'?: 'same-origin' | 'same-site' | 'cross-origin' | false;
  'Cross-Origin-Embedder-Policy'?: 'require-corp' | 'credentialless' | 'unsafe-none' | false;
  'X-Permitted-Cross-Domain-Policies'?: 'none' | 'master-only' | 'by-content-type' | 'all' | false;
  'Cache-Control'?: string | false;
  /** Any other header, set on every response: name -> value. Cannot name one of the headers above. */
  custom?: Record<string, string>;
}

/** Headers as computed once at boot: the request path only copies these strings. */
export interface ResolvedHeaders {
  readonly set: ReadonlyArray<readonly [name: string, value: string]>;
  readonly remove: readonly string[];
}

const POWERFUL_FEATURES = [
  'accelerometer', 'ambient-light-sensor', 'autoplay', 'battery', 'bluetooth', 'camera', 'display-capture',
  'document-domain', 'encrypted-media', 'fullscreen', 'gamepad', 'geolocation', 'gyroscope', 'hid',
  'identity-credentials-get', 'idle-detection', 'local-fonts', 'magnetometer', 'microphone', 'midi', 'otp-credentials',
  'payment', 'picture-in-picture', 'publickey-credentials-create', 'publickey-credentials-get', 'screen-wake-lock',
  'serial', 'storage-access', 'usb', 'web-share', 'window-management', 'xr-spatial-tracking',
];

/**
 * Defaults for a JSON API: nothing it returns should ever be rendered, framed, cached, or given
 * access to a browser feature. An app that serves HTML overrides CSP (app-wide or per route).
 */
export const DEFAULT_SECURITY_HEADERS: Readonly<Record<Exclude<keyof SecurityHeadersOptions, 'custom'>, string>> = {
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'Strict-Transport-Security': 'max-age=63072000; includeSubDomains; preload',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Permissions-Policy': POWERFUL_FEATURES.map((feature) => `${feature}=()`).join(', '),
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'X-Permitted-Cross-Domain-Policies': 'none',
  // Responses of an authenticated API are per-user: no shared or browser cache may keep them.
  'Cache-Control': 'no-store',
};

type HeaderName = keyof typeof DEFAULT_SECURITY_HEADERS;
const HEADER_NAMES = Object.keys(DEFAULT_SECURITY_HEADERS) as HeaderName[];
const BY_LOWER_NAME = new Map(HEADER_NAMES.map((name) => [name.toLowerCase(), name]));

/** Always removed: it only helps an attacker pick exploits. */
const ALWAYS_REMOVED = ['X-Powered-By'];

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const UNSAFE_VALUE = /[\r\n\0]/;

function fail(where: string, name: string, expected: string, value: unknown): never {
  throw new ZeroTrustConfigurationError(`${where}["${name}"] must be ${expected}, or false to remove the header (got ${describe(value)}).`);
}

function headerString(where: string, name: string, value: unknown): string {
  // A CR/LF in a value would let configuration inject headers.
  if (typeof value !== 'string' || value.trim() === '' || UNSAFE_VALUE.test(value)) fail(where, name, 'a non-empty string without CR, LF or NUL', value);
  return value;
}

function choice(where: string, name: string, value: unknown, allowed: readonly string[]): string {
  if (typeof value !== 'string' || !allowed.includes(value)) fail(where, name, `one of ${allowed.map((v) => `"${v}"`).join(', ')}`, value);
  return value;
}

function hsts(where: string, value: unknown): string {
  if (typeof value === 'string') return headerString(where, 'Strict-Transport-Security', value);
  if (!isPlainObject(value)) fail(where, 'Strict-Transport-Security', 'a string or { maxAge, includeSubDomains, preload }', value);
  for (const key of Object.keys(value)) {
    if (!['maxAge', 'includeSubDomains', 'preload'].includes(key)) {
      throw new ZeroTrustConfigurationError(`unknown option "${where}["Strict-Transport-Security"].${key}".${didYouMean(key, ['maxAge', 'includeSubDomains', 'preload'])}`);
    }
  }
  const maxAge = value.maxAge ?? 63_072_000;
  const includeSubDomains = value.includeSubDomains ?? true;
  const preload = value.preload ?? true;
  if (typeof maxAge !== 'number' || !Number.isInteger(maxAge) || maxAge < 0) fail(where, 'Strict-Transport-Security.maxAge', 'a whole number of seconds >= 0', maxAge);
  if (typeof includeSubDomains !== 'boolean') fail(where, 'Strict-Transport-Security.includeSubDomains', 'true or false', includeSubDomains);
  if (typeof preload !== 'boolean') fail(where, 'Strict-Transport-Security.preload', 'true or false', preload);
  if (preload && (maxAge < 31_536_000 || !includeSubDomains)) {
    throw new ZeroTrustConfigurationError(`${where}["Strict-Transport-Security"]: preload needs maxAge of at least 31536000 and includeSubDomains (or set preload: false).`);
  }
  return `max-age=${maxAge}${includeSubDomains ? '; includeSubDomains' : ''}${preload ? '; preload' : ''}`;
}

function headerValue(where: string, name: HeaderName, value: unknown): string {
  switch (name) {
    case 'Strict-Transport-Security':
      return hsts(where, value);
    case 'X-Content-Type-Options':
      return choice(where, name, value, ['nosniff']);
    case 'X-Frame-Options':
      return choice(where, name, value, ['DENY', 'SAMEORIGIN']);
    case 'Referrer-Policy': {
      const values = Array.isArray(value) ? value : [value];
      if (values.length === 0) fail(where, name, `one or more of ${REFERRER_POLICIES.join(', ')}`, value);
      return values.map((policy) => choice(where, name, policy, REFERRER_POLICIES)).join(', ');
    }
    case 'Cross-Origin-Opener-Policy':
      return choice(where, name, value, ['same-origin', 'same-origin-allow-popups', 'unsafe-none']);
    case 'Cross-Origin-Resource-Policy':
      return choice(where, name, value, ['same-origin', 'same-site', 'cross-origin']);
    case 'Cross-Origin-Embedder-Policy':
      return choice(where, name, value, ['require-corp', 'credentialless', 'unsafe-none']);
    case 'X-Permitted-Cross-Domain-Policies':
      return choice(where, name, value, ['none', 'master-only', 'by-content-type', 'all']);
    default:
      return headerString(where, name, value);
  }
}

/**
 * Checks overrides and merges them into the defaults (or, for a route, into nothing), once at boot.
 * Known names match case-insensitively; an unknown one is an error with the closest known name.
 */
export function resolveSecurityHeaders(
  overrides: unknown,
  options: { where?: string; base?: Partial<Record<HeaderName, string>>; alwaysRemoved?: readonly string[] } = {},
): ResolvedHeaders {
  const where = options.where ?? 'securityHeaders';
  const base = options.base ?? DEFAULT_SECURITY_HEADERS;
  if (overrides !== undefined && !isPlainObject(overrides)) {
    throw new ZeroTrustConfigurationError(`${where} must be an object of header name -> value (or false to remove the header); got ${describe(overrides)}.`);
  }
  const merged = new Map<string, [string, string | false]>();
  for (const [name, value] of Object.entries(base)) merged.set(name.toLowerCase(), [name, value]);
  for (const [key, value] of Object.entries(overrides ?? {})) {
    if (key === 'custom') continue;
    const name = BY_LOWER_NAME.get(key.toLowerCase());
    if (!name) {
      throw new ZeroTrustConfigurationError(
        `unknown header "${key}" in ${where}.${didYouMean(key, HEADER_NAMES)} Put headers of your own in ${where}.custom.`,
      );
    }
    merged.set(name.toLowerCase(), [name, value === false ? false : headerValue(where, name, value)]);
  }
  const custom = (overrides as SecurityHeadersOptions | undefined)?.custom;
  if (custom !== undefined) {
    if (!isPlainObject(custom)) throw new ZeroTrustConfigurationError(`${where}.custom must be an object of header name -> string (got ${describe(custom)}).`);
    for (const [name, value] of Object.entries(custom)) {
      if (!HEADER_NAME.test(name)) throw new ZeroTrustConfigurationError(`${where}.custom: "${name}" is not a valid header name.`);
      if (BY_LOWER_NAME.has(name.toLowerCase())) {
        throw new ZeroTrustConfigurationError(`${where}.custom["${name}"]: set ${BY_LOWER_NAME.get(name.toLowerCase())} through its own field, not custom.`);
      }
      merged.set(name.toLowerCase(), [name, headerString(`${where}.custom`, name, value)]);
    }
  }
  const set: Array<readonly [string, string]> = [];
  const remove: string[] = [...(options.alwaysRemoved ?? ALWAYS_REMOVED)];
  for (const [name, value] of merged.values()) {
    if (value === false) remove.push(name);
    else set.push([name, value]);
  }
  return { set, remove };
}

/** Writes resolved headers to the Node.js response (both adapters end there). */
export function applyHeaders(response: ServerResponse, headers: ResolvedHeaders): void {
  if (response.headersSent) return;
  removeHeaders(response, headers);
  for (const [name, value] of headers.set) response.setHeader(name, value);
}

/**
 * Removes the headers the configuration takes away (`X-Powered-By`...): the framework may have added one
 * since the gate ran (Express sets `X-Powered-By` in its own first middleware, after the gate).
 */
export function removeHeaders(response: ServerResponse, headers: ResolvedHeaders): void {
  if (response.headersSent) return;
  for (const name of headers.remove) response.removeHeader(name);
}

/** Set on a Node.js response once the server's gate wrote its security headers and request id. */
const WRITTEN_BY_GATE = Symbol('zero-trust:security-headers-written');

/** Records that the app-wide headers are on `response` (the server gate, before the framework routes). */
export function markHeadersWritten(response: ServerResponse): void {
  (response as ServerResponse & { [WRITTEN_BY_GATE]?: true })[WRITTEN_BY_GATE] = true;
}

/**
 * Whether the gate already wrote the app-wide headers: the middleware then does not write the same
 * twelve again (issue 16: each `setHeader` is a validated name and value), only removes what the
 * framework added since. A request the gate did not see (an adapter's `inject()`, a server the gate
 * could not be put on) gets them all from the middleware.
 */
export function headersWritten(response: ServerResponse): boolean {
  return (response as ServerResponse & { [WRITTEN_BY_GATE]?: true })[WRITTEN_BY_GATE] === true;
}

import type { ServerResponse } from 'node:http';
import { ZeroTrustConfigurationError } from '../zero-trust-configuration.error.js';

/** Header name -> value to set, or `false` to remove the header. */
export type SecurityHeaderOverrides = Record<string, string | false>;

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
export const DEFAULT_SECURITY_HEADERS: Readonly<Record<string, string>> = {
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

/** Always removed: it only helps an attacker pick exploits. */
const ALWAYS_REMOVED = ['X-Powered-By'];

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const UNSAFE_VALUE = /[\r\n\0]/;

/**
 * Merges overrides into a base set of headers, validating every name and value once (a CR/LF in a
 * value would let configuration inject headers). Names are matched case-insensitively.
 */
export function resolveSecurityHeaders(
  overrides: SecurityHeaderOverrides | undefined,
  base: Readonly<Record<string, string>> = DEFAULT_SECURITY_HEADERS,
  alwaysRemoved: readonly string[] = ALWAYS_REMOVED,
): ResolvedHeaders {
  const merged = new Map<string, [string, string | false]>();
  for (const [name, value] of Object.entries(base)) merged.set(name.toLowerCase(), [name, value]);
  if (overrides !== undefined && (overrides === null || typeof overrides !== 'object' || Array.isArray(overrides))) {
    throw new ZeroTrustConfigurationError('securityHeaders must be an object of header name -> string value, or false to remove it.');
  }
  for (const [name, value] of Object.entries(overrides ?? {})) {
    if (!HEADER_NAME.test(name)) throw new ZeroTrustConfigurationError(`securityHeaders: "${name}" is not a valid header name.`);
    if (value !== false && (typeof value !== 'string' || UNSAFE_VALUE.test(value))) {
      throw new ZeroTrustConfigurationError(
        `securityHeaders["${name}"] must be a string without CR, LF or NUL, or false to remove the header.`,
      );
    }
    merged.set(name.toLowerCase(), [name, value]);
  }
  const set: Array<readonly [string, string]> = [];
  const remove: string[] = [...alwaysRemoved];
  for (const [name, value] of merged.values()) {
    if (value === false) remove.push(name);
    else set.push([name, value]);
  }
  return { set, remove };
}

/** Writes resolved headers to the Node.js response (both adapters end there). */
export function applyHeaders(response: ServerResponse, headers: ResolvedHeaders): void {
  if (response.headersSent) return;
  for (const name of headers.remove) response.removeHeader(name);
  for (const [name, value] of headers.set) response.setHeader(name, value);
}

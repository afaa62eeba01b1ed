import { ForbiddenException } from '@nestjs/common';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * `__Host-` binds the cookie to this exact origin: it must be Secure, have Path=/ and no Domain, so
 * a sibling subdomain cannot plant or overwrite it (RFC 6265bis §4.1.3.2).
 */
export const REFRESH_COOKIE_NAME = '__Host-session_rt';

export function refreshCookie(token: string, maxAgeSeconds: number): string {
  return `${REFRESH_COOKIE_NAME}=${token}; Path=/; Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}; Secure; HttpOnly; SameSite=Strict`;
}

export function clearedRefreshCookie(): string {
  return `${REFRESH_COOKIE_NAME}=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Strict`;
}

/**
 * The refresh token from the body or, failing that, from the cookie. A cookie travels with every
 * request the browser makes, so it is accepted only on a request a cross-site form cannot forge:
 * `Content-Type: application/json` needs a CORS preflight (SameSite=Strict is the first wall).
 */
export function readRefreshToken(headers: IncomingHttpHeaders, body: unknown): { token?: string; fromCookie: boolean } {
  const fromBody = (body as { refreshToken?: unknown } | undefined)?.refreshToken;
  if (typeof fromBody === 'string') return { token: fromBody, fromCookie: false };
  const cookie = (headers.cookie ?? '')
    .split(';')
    .map((part) => part.trim())
    .find((part) => part.startsWith(`${REFRESH_COOKIE_NAME}=`));
  if (!cookie) return { fromCookie: false };
  const mediaType = (headers['content-type'] ?? '').split(';', 1)[0].trim().toLowerCase();
  if (mediaType !== 'application/json') throw new ForbiddenException('A cookie refresh needs Content-Type: application/json');
  return { token: cookie.slice(REFRESH_COOKIE_NAME.length + 1), fromCookie: true };
}

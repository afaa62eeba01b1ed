/**
 * The token of an `Authorization: Bearer …` header (RFC 6750 §2.1; the scheme is case-insensitive).
 * Only the header: tokens in query strings end up in logs and Referer headers. The one place that
 * parses the header.
 */
export function bearerToken(header: unknown): string | undefined {
  if (typeof header !== 'string') return undefined;
  const match = /^bearer +(\S+)$/i.exec(header);
  return match?.[1];
}

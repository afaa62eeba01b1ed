import { createHash, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { rawRequest } from '../core/request-context.js';
import { normalizeIp } from '../http/client-ip.js';
import { DpopRejection } from './dpop-rejection.js';
import type { MtlsConfig } from './sender-constraint.options.js';

/**
 * RFC 8705 §3.1: the `x5t#S256` of the request's client certificate, base64url SHA-256 of its DER.
 * From a trusted proxy's certificate header when one is configured and present (the socket's peer is
 * then the proxy), else from the TLS socket (Node https with `requestCert`). A certificate header from
 * any other peer is refused: it would let a client claim any certificate it saw.
 *
 * The certificate need not chain to a CA for the binding to hold (RFC 8705 §2.2, self-signed mutual
 * TLS): the TLS handshake proved possession of its private key, the thumbprint names that key.
 */
export function clientCertificateThumbprint(request: object, config: MtlsConfig): string | undefined {
  const raw = rawRequest(request);
  if (config.certificateHeader) {
    const value = raw.headers[config.certificateHeader];
    if (value !== undefined) {
      const peer = normalizeIp(raw.socket?.remoteAddress);
      const family = isIP(peer);
      if (!family || !config.trustedProxies?.check(peer, family === 4 ? 'ipv4' : 'ipv6')) {
        throw new DpopRejection('mtls_untrusted_certificate_header', 'a client certificate header from a peer that is not a trusted proxy');
      }
      if (typeof value !== 'string') throw new DpopRejection('mtls_certificate_malformed', 'more than one client certificate header');
      return thumbprintOfForwarded(value);
    }
  }
  const socket = raw.socket as Partial<TLSSocket> | undefined;
  if (typeof socket?.getPeerCertificate !== 'function') return undefined;
  const certificate = socket.getPeerCertificate(false);
  return certificate?.raw ? createHash('sha256').update(certificate.raw).digest('base64url') : undefined;
}

function thumbprintOfForwarded(value: string): string {
  try {
    const text = decodeURIComponent(value.trim());
    const der = text.includes('-----BEGIN CERTIFICATE-----') ? new X509Certificate(text).raw : new X509Certificate(Buffer.from(text, 'base64')).raw;
    return createHash('sha256').update(der).digest('base64url');
  } catch {
    throw new DpopRejection('mtls_certificate_malformed', 'the forwarded client certificate does not parse');
  }
}

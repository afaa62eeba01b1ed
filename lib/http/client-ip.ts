import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';

/** `::ffff:10.0.0.1` is 10.0.0.1: one client must not get two buckets. */
export function normalizeIp(address: string | undefined): string {
  const value = (address ?? '').trim();
  return value.startsWith('::ffff:') && isIP(value.slice(7)) === 4 ? value.slice(7) : value;
}

/**
 * Who the client is, from the socket and, only when proxies are trusted, from X-Forwarded-For read
 * right to left. X-Real-IP, True-Client-IP and Forwarded are never read: a client can set any of
 * them, and a raw X-Forwarded-For is just as forgeable unless a proxy we trust wrote its last hops.
 */
export class ClientIpResolver {
  private readonly hops?: number;
  private readonly trusted?: BlockList;

  constructor(trustProxy: number | readonly string[] | undefined) {
    if (trustProxy === undefined) return;
    if (typeof trustProxy === 'number') {
      if (!Number.isInteger(trustProxy) || trustProxy < 0 || trustProxy > 10) {
        throw new ZeroTrustConfigurationError('trustProxy as a hop count must be a whole number from 0 to 10.');
      }
      this.hops = trustProxy;
      return;
    }
    if (!Array.isArray(trustProxy)) throw new ZeroTrustConfigurationError('trustProxy must be a hop count or a list of CIDRs/addresses.');
    this.trusted = new BlockList();
    for (const entry of trustProxy) {
      const [address, prefix] = String(entry).split('/');
      const family = isIP(address);
      if (!family) throw new ZeroTrustConfigurationError(`trustProxy: "${entry}" is not an IP address or CIDR.`);
      const type = family === 4 ? 'ipv4' : 'ipv6';
      if (prefix === undefined) this.trusted.addAddress(address, type);
      else {
        const bits = Number(prefix);
        if (!Number.isInteger(bits) || bits < 0 || bits > (family === 4 ? 32 : 128)) throw new ZeroTrustConfigurationError(`trustProxy: "${entry}" has a bad prefix length.`);
        this.trusted.addSubnet(address, bits, type);
      }
    }
  }

  resolve(request: IncomingMessage): string {
    const socketAddress = normalizeIp(request.socket?.remoteAddress);
    if (this.hops === undefined && !this.trusted) return socketAddress;
    const header = request.headers['x-forwarded-for'];
    const forwarded = (Array.isArray(header) ? header.join(',') : (header ?? ''))
      .split(',')
      .map((part) => normalizeIp(part))
      .filter((part) => isIP(part) !== 0);
    const chain = [...forwarded, socketAddress];
    if (this.hops !== undefined) return chain[Math.max(0, chain.length - 1 - this.hops)];
    for (let i = chain.length - 1; i > 0; i--) {
      if (!this.isTrusted(chain[i])) return chain[i];
    }
    return chain[0];
  }

  private isTrusted(address: string): boolean {
    const family = isIP(address);
    return family !== 0 && this.trusted!.check(address, family === 4 ? 'ipv4' : 'ipv6');
  }
}

/**
 * The throttling bucket of an address: an IPv6 client usually holds a whole /64, so rotating within
 * it must not yield fresh buckets.
 */
export function addressBucket(address: string): string {
  if (isIP(address) !== 6) return address;
  const [head] = address.split('%');
  const expanded = head.includes('::')
    ? (() => {
        const [left, right] = head.split('::');
        const l = left ? left.split(':') : [];
        const r = right ? right.split(':') : [];
        return [...l, ...Array(8 - l.length - r.length).fill('0'), ...r];
      })()
    : head.split(':');
  return `${expanded.slice(0, 4).map((part) => part.toLowerCase().replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';

/** `::ffff:10.0.0.1` is 10.0.0.1: one client must not get two buckets. */
export function normalizeIp(address: string | undefined): string {
  const value = (address ?? '').trim();
  return value.startsWith('::ffff:') && isIP(value.slice(7)) === 4 ? value.slice(7) : value;
}

const PORT = /^\d{1,5}$/;
const MAPPED_HEX = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/;

/** One spelling per IPv6 address (RFC 5952: lower case, longest zero run compressed); IPv4-mapped ones as IPv4. */
function canonicalIpv6(address: string): string {
  const canonical = new URL(`http://[${address}]`).hostname.slice(1, -1);
  const mapped = MAPPED_HEX.exec(canonical);
  if (!mapped) return canonical;
  const [high, low] = [parseInt(mapped[1], 16), parseInt(mapped[2], 16)];
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}

/**
 * One X-Forwarded-For entry as an address, or `undefined` when it is not one. Proxies write more than
 * bare addresses: `ip:port`, `[v6]:port` (the RFC 7239 §6 node syntax some reuse here), quoted values,
 * spaces around commas. Anything else (`unknown`, obfuscated `_ids`, host names, zone ids, ports out
 * of range) is malformed; the caller never trusts such an entry nor takes it for the client.
 */
export function parseForwardedAddress(entry: string): string | undefined {
  let value = entry.trim();
  if (value.startsWith('"') || value.endsWith('"')) {
    if (value.length < 2 || !value.startsWith('"') || !value.endsWith('"')) return undefined;
    value = value.slice(1, -1);
  }
  if (value.startsWith('[')) {
    const close = value.indexOf(']');
    if (close < 0) return undefined;
    const rest = value.slice(close + 1);
    if (rest !== '' && !(rest.startsWith(':') && validPort(rest.slice(1)))) return undefined;
    return ipv6(value.slice(1, close));
  }
  if (value.includes('%')) return undefined;
  if (isIP(value) === 6) return ipv6(value);
  const colon = value.indexOf(':');
  if (colon >= 0) {
    if (!validPort(value.slice(colon + 1))) return undefined;
    value = value.slice(0, colon);
  }
  return isIP(value) === 4 ? value : undefined;
}

function ipv6(address: string): string | undefined {
  // A zone id (`fe80::1%eth0`) names an interface of the host that wrote it: meaningless here.
  return isIP(address) === 6 && !address.includes('%') ? canonicalIpv6(address) : undefined;
}

function validPort(port: string): boolean {
  return PORT.test(port) && Number(port) <= 65_535;
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

  /**
   * Walks the chain from our socket leftwards: past a hop only while that hop is trusted (by count or
   * by address), and only onto an entry that parses. A malformed entry stops the walk, so the nearest
   * well-formed hop stands as the client: never the malformed entry, never anything written left of it
   * (a proxy that emits `ip:port` must not shift the chain by one and hand the client's place to an
   * entry the client wrote itself).
   */
  resolve(request: IncomingMessage): string {
    const socketAddress = normalizeIp(request.socket?.remoteAddress);
    if (this.hops === undefined && !this.trusted) return socketAddress;
    const header = request.headers['x-forwarded-for'];
    const entries = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',');
    let client = socketAddress;
    for (let i = entries.length - 1, steps = 0; i >= 0; i--, steps++) {
      if (this.hops !== undefined ? steps >= this.hops : !this.isTrusted(client)) break;
      const address = parseForwardedAddress(entries[i]);
      if (address === undefined) break;
      client = address;
    }
    return client;
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

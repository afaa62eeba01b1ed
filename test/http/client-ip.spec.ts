/**
 * Issue 13, item 9: with `trustProxy`, a proxy that writes `ip:port` (or `[v6]:port`) into
 * X-Forwarded-For made its own, true entry unreadable; it was dropped, the chain shifted by one, and
 * the entry the attacker had prepended became "the client". Entries are now parsed and normalised,
 * and a malformed entry is never trusted and never becomes the client address.
 */
import type { IncomingMessage } from 'node:http';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { ClientIpResolver, parseForwardedAddress } from '../../lib/http/client-ip.js';
import { createProbeApp, PLATFORMS } from '../support/test-app.js';

const from = (remoteAddress: string, forwardedFor?: string | string[]) =>
  ({ socket: { remoteAddress }, headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor } }) as unknown as IncomingMessage;

describe('X-Forwarded-For entries', () => {
  it.each([
    ['198.51.100.9', '198.51.100.9'],
    ['198.51.100.9:54321', '198.51.100.9'],
    ['  198.51.100.9  ', '198.51.100.9'],
    ['"198.51.100.9"', '198.51.100.9'],
    ['"198.51.100.9:80"', '198.51.100.9'],
    ['2001:db8::7', '2001:db8::7'],
    ['2001:DB8:0:0::7', '2001:db8::7'],
    ['[2001:db8::7]', '2001:db8::7'],
    ['[2001:db8::7]:443', '2001:db8::7'],
    ['"[2001:db8::7]:443"', '2001:db8::7'],
    ['::ffff:198.51.100.9', '198.51.100.9'],
    ['[::ffff:198.51.100.9]:80', '198.51.100.9'],
  ])('13.9: reads %j as %s', (entry, address) => {
    expect(parseForwardedAddress(entry)).toBe(address);
  });

  it.each([
    '',
    '   ',
    'unknown',
    '_hidden',
    'example.com',
    '198.51.100.9:',
    '198.51.100.9:99999',
    '198.51.100.9:80:81',
    '198.51.100.9:port',
    '01.2.3.4',
    '256.1.1.1',
    '[198.51.100.9]:80',
    '[2001:db8::7',
    '[2001:db8::7]:',
    '[2001:db8::7]x',
    '2001:db8::7:443]',
    'fe80::1%eth0',
    '"198.51.100.9',
    '198.51.100.9"',
    '1.2.3.4 5.6.7.8',
  ])('13.9: refuses the malformed entry %j', (entry) => {
    expect(parseForwardedAddress(entry)).toBeUndefined();
  });
});

describe('ClientIpResolver', () => {
  it('13.9: a proxy writing ip:port no longer hands the client address to the entry an attacker prepended (hop count)', () => {
    const resolver = new ClientIpResolver(1);
    expect(resolver.resolve(from('10.0.0.1', '6.6.6.6, 203.0.113.7:54321'))).toBe('203.0.113.7');
    expect(resolver.resolve(from('10.0.0.1', '6.6.6.6, [2001:db8::7]:443'))).toBe('2001:db8::7');
    expect(resolver.resolve(from('10.0.0.1', ['6.6.6.6', '203.0.113.7:54321']))).toBe('203.0.113.7');
    expect(new ClientIpResolver(2).resolve(from('10.0.0.2', '6.6.6.6, 203.0.113.7:1, 10.0.0.1:2'))).toBe('203.0.113.7');
  });

  it('13.9: the same with trusted proxy addresses', () => {
    const resolver = new ClientIpResolver(['10.0.0.0/8']);
    expect(resolver.resolve(from('10.0.0.2', '6.6.6.6, 198.51.100.9:1234, 10.0.0.1:80'))).toBe('198.51.100.9');
    expect(resolver.resolve(from('10.0.0.2', ' "6.6.6.6" ,  "[2001:db8::9]:1234" '))).toBe('2001:db8::9');
  });

  it('13.9: a malformed entry is never trusted and never becomes the client: the nearest well-formed hop stands', () => {
    expect(new ClientIpResolver(1).resolve(from('10.0.0.1', '6.6.6.6, garbage'))).toBe('10.0.0.1');
    expect(new ClientIpResolver(2).resolve(from('10.0.0.2', '6.6.6.6, 198.51.100.9:99999, 10.0.0.1'))).toBe('10.0.0.1');
    expect(new ClientIpResolver(2).resolve(from('10.0.0.2', '6.6.6.6, , 10.0.0.1'))).toBe('10.0.0.1');
    const cidr = new ClientIpResolver(['10.0.0.0/8']);
    // Stepping left past a trusted proxy is allowed only onto a well-formed entry.
    expect(cidr.resolve(from('10.0.0.2', '6.6.6.6, 198.51.100.9:port, 10.0.0.1'))).toBe('10.0.0.1');
    expect(cidr.resolve(from('10.0.0.2', '6.6.6.6, unknown'))).toBe('10.0.0.2');
    for (const resolver of [new ClientIpResolver(1), new ClientIpResolver(3), cidr]) {
      for (const header of ['6.6.6.6, garbage', '6.6.6.6,[::1', '6.6.6.6, 1.2.3.4:5:6', '6.6.6.6,,']) {
        const client = resolver.resolve(from('10.0.0.2', header));
        expect(client).not.toBe('6.6.6.6');
        expect(parseForwardedAddress(client)).toBe(client);
      }
    }
  });

  it('keeps the rules it had: no trustProxy reads only the socket; entries left of an untrusted hop are ignored', () => {
    expect(new ClientIpResolver(undefined).resolve(from('::ffff:192.0.2.1', '6.6.6.6'))).toBe('192.0.2.1');
    expect(new ClientIpResolver(0).resolve(from('192.0.2.1', '6.6.6.6'))).toBe('192.0.2.1');
    expect(new ClientIpResolver(['10.0.0.0/8']).resolve(from('10.0.0.2', '6.6.6.6, 198.51.100.9, 10.0.0.1'))).toBe('198.51.100.9');
    expect(new ClientIpResolver(['10.0.0.0/8']).resolve(from('10.0.0.2', '10.0.0.7, 10.0.0.1'))).toBe('10.0.0.7');
    expect(new ClientIpResolver(5).resolve(from('10.0.0.2', '198.51.100.9'))).toBe('198.51.100.9');
  });
});

describe.each(PLATFORMS)('client address behind a proxy that writes ports (%s)', (platform) => {
  it('13.9: the audit trail names the real client, not the entry the attacker prepended', async () => {
    const { app, audit } = await createProbeApp(platform, { trustProxy: 1 });
    try {
      await request(app.getHttpServer()).get('/me').set('X-Forwarded-For', '6.6.6.6, 203.0.113.7:54321').expect(401);
      expect(audit.last('auth.failure')?.ip).toBe('203.0.113.7');
      await request(app.getHttpServer()).get('/me').set('X-Forwarded-For', '6.6.6.6, [2001:DB8::7]:443').expect(401);
      expect(audit.last('auth.failure')?.ip).toBe('2001:db8::7');
      await request(app.getHttpServer()).get('/me').set('X-Forwarded-For', '6.6.6.6, not-an-address').expect(401);
      expect(audit.last('auth.failure')?.ip).toBe('127.0.0.1');
    } finally {
      await app.close();
    }
  });
});

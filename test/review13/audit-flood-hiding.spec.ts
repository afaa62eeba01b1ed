/**
 * Review 13 against issue 13.10 (audit flood control). The per-type cap is one budget for every
 * `auth.failure` (or `access.denied`) of the window, whatever its reason, address or principal, and what
 * it holds back is summarized by type only (no reason, address, principal or account). So a cheap flood
 * of garbage bearer tokens spread over addresses (under the per-address failed-auth budget) spends the
 * budget, and a real event of the same type, a password guess against a chosen account, is neither
 * written nor visible in any summary. And "identical" ignores `details`, where the lockout puts the
 * account: once one address has written 10 failures, which accounts it goes on to guess is lost.
 */
import type { AuditEvent } from 'nestjs-zero-trust';
import { describe, expect, it } from 'vitest';
import { AuditFloodGate } from '../../lib/audit/audit-flood.gate.js';

const LIMITS = { window: 60, maxIdentical: 10, maxPerType: 1000 }; // the module's defaults
const T0 = Date.UTC(2026, 0, 1);

function run(events: AuditEvent[]) {
  const gate = new AuditFloodGate(LIMITS);
  const written: AuditEvent[] = [];
  const summaries: AuditEvent[] = [];
  events.forEach((event, i) => {
    if (gate.admit(event, T0 + i, (s) => summaries.push(s))) written.push(event);
  });
  gate.drain(T0 + LIMITS.window * 1000 + events.length, (s) => summaries.push(s));
  return { written, summaries };
}

const badToken = (i: number): AuditEvent =>
  ({ type: 'auth.failure', outcome: 'failure', reason: 'invalid_token', ip: `192.0.2.${i % 200}`, method: 'GET', route: '/notes', time: new Date(T0).toISOString(), details: { token: `fp${i}` } }) as AuditEvent;

const guess = (account: string, ip = '203.0.113.7'): AuditEvent =>
  ({ type: 'auth.failure', outcome: 'failure', reason: 'bad_credentials', ip, method: 'POST', route: '/auth/login', time: new Date(T0).toISOString(), details: { account } }) as AuditEvent;

const mentions = (events: AuditEvent[], what: (e: AuditEvent) => boolean) => events.some(what);

describe('review13: audit flood control', () => {
  it('review13: a flood of garbage tokens from 200 addresses hides a password guess against a chosen account (not written, not in any summary)', () => {
    const flood = Array.from({ length: LIMITS.maxPerType }, (_, i) => badToken(i));
    const { written, summaries } = run([...flood, guess('victim-hash')]);
    const seen = mentions(written, (e) => e.reason === 'bad_credentials') || mentions(summaries, (e) => e.reason === 'bad_credentials' || e.ip === '203.0.113.7');
    expect(seen).toBe(true);
  });

  it("review13: after ten failures of one address, the accounts it goes on to guess are in neither the trail nor the summaries", () => {
    const decoys = Array.from({ length: LIMITS.maxIdentical }, (_, i) => guess(`decoy-${i}`));
    const { written, summaries } = run([...decoys, guess('victim-hash')]);
    const accounts = [...written, ...summaries].map((e) => (e.details as { account?: string } | undefined)?.account);
    expect(accounts).toContain('victim-hash');
  });
});

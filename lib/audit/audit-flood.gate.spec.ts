import { describe, expect, it } from 'vitest';
import type { AuditEvent } from './audit-event.interface.js';
import { AuditFloodGate } from './audit-flood.gate.js';

const failure = (extra: Partial<AuditEvent> = {}): AuditEvent => ({ type: 'auth.failure', outcome: 'failure', reason: 'bad_signature', ip: '198.51.100.7', route: '/me', time: '', ...extra });

describe('AuditFloodGate', () => {
  it('13.10: writes the first identical events of a window, counts the rest, and summarizes them when the window ends', () => {
    const gate = new AuditFloodGate({ window: 60, maxIdentical: 3, maxPerType: 100 });
    const summaries: AuditEvent[] = [];
    const admitted = Array.from({ length: 10 }, (_, i) => gate.admit(failure({ details: { tokenSha256: `${i}` } }), 1000 + i, (e) => summaries.push(e)));
    expect(admitted).toEqual([true, true, true, false, false, false, false, false, false, false]);
    expect(summaries).toEqual([]);
    expect(gate.admit(failure(), 61_000, (e) => summaries.push(e))).toBe(true);
    expect(summaries).toEqual([
      expect.objectContaining({ type: 'auth.failure', reason: 'bad_signature', ip: '198.51.100.7', route: '/me', details: { aggregated: 'identical', repeated: 7, since: new Date(1000).toISOString() } }),
    ]);
  });

  it('13.10: tells apart what differs in who, where or why', () => {
    const gate = new AuditFloodGate({ window: 60, maxIdentical: 1, maxPerType: 100 });
    const none = () => undefined;
    expect(gate.admit(failure(), 0, none)).toBe(true);
    expect(gate.admit(failure({ ip: '198.51.100.8' }), 0, none)).toBe(true);
    expect(gate.admit(failure({ reason: 'expired' }), 0, none)).toBe(true);
    expect(gate.admit(failure({ route: '/notes' }), 0, none)).toBe(true);
    expect(gate.admit(failure({ principal: { subject: 'a' } }), 0, none)).toBe(true);
    expect(gate.admit(failure({ type: 'access.denied', outcome: 'denied' }), 0, none)).toBe(true);
    expect(gate.admit(failure(), 0, none)).toBe(false);
  });

  it('13.10: caps a type per window whatever varies, and drains every open count at shutdown', () => {
    const gate = new AuditFloodGate({ window: 60, maxIdentical: 10, maxPerType: 5 });
    const summaries: AuditEvent[] = [];
    const admitted = Array.from({ length: 20 }, (_, i) => gate.admit(failure({ ip: `198.51.100.${i}` }), 0, (e) => summaries.push(e)));
    expect(admitted.filter(Boolean)).toHaveLength(5);
    // Never held back: events a client cannot repeat at will.
    for (let i = 0; i < 50; i++) expect(gate.admit({ type: 'session.revoked', outcome: 'success', time: '' }, 0, (e) => summaries.push(e))).toBe(true);
    gate.drain(1, (e) => summaries.push(e));
    expect(summaries).toEqual([expect.objectContaining({ type: 'auth.failure', details: expect.objectContaining({ aggregated: 'type', repeated: 15 }) })]);
  });
});

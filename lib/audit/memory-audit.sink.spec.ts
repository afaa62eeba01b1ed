import { describe, expect, it } from 'vitest';
import type { AuditEvent } from './audit-event.interface.js';
import { MemoryAuditSink } from './memory-audit.sink.js';

const event = (i: number, extra: Partial<AuditEvent> = {}): AuditEvent => ({ type: 'auth.success', outcome: 'success', time: String(i), ...extra });

describe('MemoryAuditSink', () => {
  it('keeps only the newest events, newest first', () => {
    const sink = new MemoryAuditSink(3);
    for (let i = 1; i <= 5; i++) sink.write(event(i));
    expect(sink.query().map((e) => e.time)).toEqual(['5', '4', '3']);
  });

  it('filters by type and subject and caps the page', () => {
    const sink = new MemoryAuditSink(10);
    sink.write(event(1, { type: 'auth.failure', outcome: 'failure' }));
    sink.write(event(2, { principal: { subject: 'a' } }));
    sink.write(event(3, { principal: { subject: 'b' } }));
    expect(sink.query({ type: 'auth.failure' }).map((e) => e.time)).toEqual(['1']);
    expect(sink.query({ subject: 'a' }).map((e) => e.time)).toEqual(['2']);
    expect(sink.query({ limit: 1 }).map((e) => e.time)).toEqual(['3']);
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new MemoryAuditSink(0)).toThrow(RangeError);
  });
});

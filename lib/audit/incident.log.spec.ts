import { describe, expect, it } from 'vitest';
import { IncidentLog } from './incident.log.js';

function logWith(now: { t: number }) {
  const lines: string[] = [];
  const reports: Array<[string, number]> = [];
  const log = new IncidentLog(
    { warn: (line: string) => lines.push(line), log: (line: string) => lines.push(line) } as never,
    { intervalMs: 10_000, now: () => now.t, onReport: (key, count) => reports.push([key, count]) },
  );
  return { log, lines, reports };
}

describe('IncidentLog', () => {
  it('writes one line when an incident starts and one per interval with the count, not one per occurrence', () => {
    const now = { t: 0 };
    const { log, lines, reports } = logWith(now);
    for (let i = 0; i < 500; i++) log.record('auth:closed', 'store failed');
    expect(lines).toEqual(['store failed [auth:closed] ×1']);
    now.t = 10_000;
    log.record('auth:closed', 'store failed');
    expect(lines).toEqual(['store failed [auth:closed] ×1', 'store failed [auth:closed] ×500 in the last 10 s, 501 in all']);
    expect(reports).toEqual([['auth:closed', 1], ['auth:closed', 500]]);
    expect(log.totals().get('auth:closed')).toBe(501);
    log.close();
  });

  it('keeps each key its own incident: a noisy one never silences another', () => {
    const now = { t: 0 };
    const { log, lines } = logWith(now);
    for (let i = 0; i < 100; i++) log.record('default:open', 'store failed, open');
    log.record('auth:closed', 'store failed, closed');
    expect(lines).toEqual(['store failed, open [default:open] ×1', 'store failed, closed [auth:closed] ×1']);
    log.close();
  });

  it('writes the counts still pending at close, and ends an incident with one line', () => {
    const now = { t: 0 };
    const { log, lines } = logWith(now);
    log.record('audit_write_failed', 'batch failed');
    log.record('audit_write_failed', 'batch failed', 4);
    log.resolve('audit_write_failed', 'store back');
    expect(lines).toEqual(['batch failed [audit_write_failed] ×1', 'batch failed [audit_write_failed] ×4 in the last 10 s, 5 in all', 'store back (5 in all)']);
    log.close();
    expect(lines).toHaveLength(3);
  });
});

/** What one line of the posture report is about. */
export type PostureArea = 'routes' | 'keys' | 'headers' | 'proxy' | 'throttling' | 'database' | 'production' | 'boot';

/** `pass`: nothing to do; `warn`: weaker than it should be; `fail`: an attacker's way in, fix before production. */
export type PostureLevel = 'pass' | 'warn' | 'fail';

export interface PostureFinding {
  readonly area: PostureArea;
  readonly level: PostureLevel;
  readonly message: string;
  /** What to change, for anything but a pass. */
  readonly fix?: string;
}

/**
 * One letter for the whole report, so a team can track it: A with no warning, B with a few, C with
 * many, D with one failure, F with more.
 */
export function postureGrade(findings: readonly PostureFinding[]): 'A' | 'B' | 'C' | 'D' | 'F' {
  const fails = findings.filter((finding) => finding.level === 'fail').length;
  const warns = findings.filter((finding) => finding.level === 'warn').length;
  if (fails > 1) return 'F';
  if (fails === 1) return 'D';
  if (warns > 3) return 'C';
  return warns > 0 ? 'B' : 'A';
}

const MARK: Record<PostureLevel, string> = { pass: 'PASS', warn: 'WARN', fail: 'FAIL' };

/** The report as text: the grade, then one line per finding with its fix under it. */
export function renderPosture(findings: readonly PostureFinding[]): string {
  const order: PostureLevel[] = ['fail', 'warn', 'pass'];
  const sorted = [...findings].sort((a, b) => order.indexOf(a.level) - order.indexOf(b.level));
  const lines = [`nestjs-zero-trust posture: grade ${postureGrade(findings)} (${findings.filter((f) => f.level === 'fail').length} fail, ${findings.filter((f) => f.level === 'warn').length} warn, ${findings.filter((f) => f.level === 'pass').length} pass)`];
  for (const finding of sorted) {
    lines.push(`${MARK[finding.level]} [${finding.area}] ${finding.message}`);
    if (finding.fix && finding.level !== 'pass') lines.push(`     fix: ${finding.fix}`);
  }
  return lines.join('\n');
}

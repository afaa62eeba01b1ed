import { Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../core/clock.js';
import { ZeroTrustModule } from '../zero-trust.module.js';
import { postureGrade, type PostureFinding, renderPosture } from './posture-finding.js';
import { PostureReport } from './posture.report.js';

const pem = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

async function reportFor(options: Record<string, unknown>) {
  const moduleRef = await Test.createTestingModule({ imports: [ZeroTrustModule.forRoot({ issuer: 'https://issuer.test', audience: 'doctor', ...options })] }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  return { app, report: app.get(PostureReport) };
}

describe('PostureReport', () => {
  afterEach(() => vi.restoreAllMocks());

  it('flags a key older than a year (by its dated kid) and a shared HS256 secret, and passes a fresh dated key', async () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 23));
    const { app, report } = await reportFor({
      clock,
      algorithms: ['ES256', 'HS256'],
      keys: [
        { kid: '2026-10', alg: 'ES256', privateKey: pem() },
        { kid: '2024-01-15', alg: 'ES256', privateKey: pem() },
        { kid: 'shared', alg: 'HS256', secret: randomBytes(32).toString('base64') },
      ],
    });
    const keys = report.findings().filter((finding) => finding.area === 'keys');
    expect(keys).toContainEqual(expect.objectContaining({ level: 'pass', message: 'key "2026-10": ES256, 53 days old' }));
    expect(keys).toContainEqual(expect.objectContaining({ level: 'warn', message: 'key "2024-01-15" (ES256) is 1043 days old', fix: expect.stringContaining('rotate it') }));
    expect(keys).toContainEqual(expect.objectContaining({ level: 'warn', message: expect.stringContaining('"shared" is a shared HS256 secret') }));
    await app.close();
  });

  it('logs the report once at boot in development, and not in test or production', async () => {
    const log = vi.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    const { app } = await reportFor({ environment: 'development' });
    const posture = log.mock.calls.filter(([message]) => String(message).startsWith('nestjs-zero-trust posture: grade'));
    expect(posture).toHaveLength(1);
    expect(String(posture[0][0])).toContain('npx nestjs-zero-trust doctor');
    await app.close();
    log.mockClear();
    const quiet = await reportFor({ environment: 'test' });
    expect(log.mock.calls.filter(([message]) => String(message).includes('posture: grade'))).toHaveLength(0);
    await quiet.app.close();
  });

  it('grades by the worst findings: A clean, B a few warnings, C many, D one failure, F more', () => {
    const f = (level: PostureFinding['level']): PostureFinding => ({ area: 'routes', level, message: level });
    expect(postureGrade([f('pass')])).toBe('A');
    expect(postureGrade([f('warn'), f('pass')])).toBe('B');
    expect(postureGrade([f('warn'), f('warn'), f('warn'), f('warn')])).toBe('C');
    expect(postureGrade([f('fail'), f('warn')])).toBe('D');
    expect(postureGrade([f('fail'), f('fail')])).toBe('F');
    expect(renderPosture([f('pass'), { ...f('fail'), fix: 'do this' }])).toBe('nestjs-zero-trust posture: grade D (1 fail, 0 warn, 1 pass)\nFAIL [routes] fail\n     fix: do this\nPASS [routes] pass');
  });
});

import { Controller, Get, Logger } from '@nestjs/common';
import { TokenService } from 'nestjs-zero-trust';
import request from 'supertest';
import { describe, expect, it, vi } from 'vitest';
import { createAuthzApp } from './authz-app.js';

@Controller('legacy')
class LegacyController {
  @Get('reports')
  reports() {
    return { reports: [] };
  }
}

describe('deny-by-default authorization at boot', () => {
  it('refuses to start in strict mode and names every route without a rule', async () => {
    await expect(createAuthzApp('express', {}, [LegacyController])).rejects.toThrow(
      /1 route\(s\) declare no authorization rule:\n {2}- GET \/legacy\/reports \(LegacyController\.reports\)/,
    );
  });

  it('starts in report mode, warns with the list, and lets signed-in users call the route', async () => {
    const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const { app } = await createAuthzApp('express', { authorization: 'report' }, [LegacyController]);
    try {
      expect(warn.mock.calls.flat().join('\n')).toContain('GET /legacy/reports (LegacyController.reports)');
      const token = app.get(TokenService).issueAccessToken({ subject: 'u1' }).accessToken;
      await request(app.getHttpServer()).get('/legacy/reports').expect(401);
      await request(app.getHttpServer()).get('/legacy/reports').set('Authorization', `Bearer ${token}`).expect(200);
    } finally {
      warn.mockRestore();
      await app.close();
    }
  });
});

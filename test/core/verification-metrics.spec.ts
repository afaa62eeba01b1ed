import { MetricsService, TokenService } from 'nestjs-zero-trust';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { createProbeApp, PLATFORMS } from '../support/test-app.js';

/**
 * Issue 16: a histogram observation cost more than a verified-token cache hit itself. The histogram
 * times full verifications only; every success, cache hits included, is still counted.
 */
describe.each(PLATFORMS)('token verification metrics (%s)', (platform) => {
  it('times the first verification of a token, counts the ones served from the cache, and still times failures', async () => {
    const { app } = await createProbeApp(platform, { audit: { authSuccess: 'count' }, authFailureLimit: false });
    try {
      const token = app.get(TokenService).issueAccessToken({ subject: 'u1' }).accessToken;
      for (let i = 0; i < 5; i++) await request(app.getHttpServer()).get('/me').set('Authorization', `Bearer ${token}`).expect(200);
      await request(app.getHttpServer()).get('/me').set('Authorization', 'Bearer not.a.token').expect(401);
      const text = await app.get(MetricsService).metrics();
      expect(text).toMatch(/zt_token_verification_seconds_count\{outcome="success"\} 1\n/);
      expect(text).toMatch(/zt_token_verification_seconds_count\{outcome="failure"\} 1\n/);
      expect(text).toMatch(/zt_auth_success_total 5\n/);
    } finally {
      await app.close();
    }
  });
});

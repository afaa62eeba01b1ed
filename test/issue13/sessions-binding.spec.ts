/**
 * Issue 13, item 16: the per-request session check did not bind a token's session to its subject. With
 * the signing key, a token for any user rode on the attacker's own live session (and so survived the
 * victim's logout-all). The check now requires the session's subject and issuer to be the token's.
 */
import type { INestApplication } from '@nestjs/common';
import { SessionService, TokenService } from 'nestjs-zero-trust';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSampleApp } from '../../sample/src/app.factory.js';
import { PLATFORMS } from '../support/test-app.js';

process.env.ZT_DB = 'memory';
process.env.ZT_AUTH_RATE_LIMIT = '10000';
const PASSWORD = 'correct horse battery';
const json = { 'Content-Type': 'application/json' };

describe.each(PLATFORMS)('13.16: a session is bound to its subject and issuer (%s)', (platform) => {
  let app: INestApplication;
  let http: ReturnType<typeof request>;
  let counter = 0;

  async function signedIn() {
    const email = `binding${++counter}-${platform}@example.com`;
    await http.post('/auth/register').set(json).send({ email, password: PASSWORD }).expect(201);
    const tokens = (await http.post('/auth/login').set(json).send({ email, password: PASSWORD }).expect(200)).body;
    const [{ id }] = await app.get(DataSource).query('SELECT id FROM users WHERE email = $1', [email]);
    return { id: id as string, accessToken: tokens.accessToken as string, sessionId: tokens.sessionId as string };
  }
  /** What the holder of the signing key can make: any claims, signed by the app's own key. */
  const mint = (subject: string, sessionId: string) => app.get(TokenService).issueAccessToken({ subject, sessionId, authMethods: ['pwd'] }).accessToken;
  const status = async (token: string) => (await http.get('/notes').set('Authorization', `Bearer ${token}`)).status;

  beforeAll(async () => {
    app = await createSampleApp(platform, false);
    http = request(app.getHttpServer());
  });
  afterAll(() => app?.close());

  it("13.16: a token minted for the victim on the attacker's own live session is refused", async () => {
    const attacker = await signedIn();
    const victim = await signedIn();
    expect(await status(mint(attacker.id, attacker.sessionId))).toBe(200);
    expect(await status(mint(victim.id, attacker.sessionId))).toBe(401);
  });

  it("13.16: no token of the victim outlives the victim's logout-all, whatever session it names", async () => {
    const attacker = await signedIn();
    const victim = await signedIn();
    const riding = mint(victim.id, attacker.sessionId);
    const own = mint(victim.id, victim.sessionId);
    expect(await status(own)).toBe(200);
    await http.post('/auth/logout-all').set('Authorization', `Bearer ${victim.accessToken}`).expect(204);
    expect(await status(own)).toBe(401);
    expect(await status(riding)).toBe(401);
    // The attacker's own session is untouched by the victim's logout: only the binding stops the riding token.
    expect(await status(attacker.accessToken)).toBe(200);
  });

  it('13.16: the session check compares the issuer as well as the subject', async () => {
    const user = await signedIn();
    const sessions = app.get(SessionService);
    const claims = {};
    expect(await sessions.isActive(user.sessionId, { subject: user.id, issuer: 'http://localhost:3000', claims })).toBe(true);
    expect(await sessions.isActive(user.sessionId, { subject: user.id, issuer: 'https://another-issuer.example', claims })).toBe(false);
    expect(await sessions.isActive(user.sessionId, { subject: 'someone-else', issuer: 'http://localhost:3000', claims })).toBe(false);
    // A caller that does not say whose token it is gets no session (fails closed).
    expect(await (sessions.isActive as (id: string) => Promise<boolean>)(user.sessionId)).toBe(false);
  });

  it('13.16: a sid that is not a session id is a 401, never a database error', async () => {
    const user = await signedIn();
    for (const sid of ['not-a-uuid', "' OR 1=1 --", '']) {
      const response = await http.get('/notes').set('Authorization', `Bearer ${app.get(TokenService).issueAccessToken({ subject: user.id, sessionId: sid || undefined }).accessToken}`);
      expect(response.status).toBe(401);
    }
  });
});

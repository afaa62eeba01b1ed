import { PGlite } from '@electric-sql/pglite';
import { Body, Controller, Get, HttpCode, type INestApplication, Module, Post, Req, Res } from '@nestjs/common';
import { TypeOrmModule, type TypeOrmModuleOptions } from '@nestjs/typeorm';
import { IsString, MaxLength } from 'class-validator';
import { generateKeyPair, generateProof, type KeyPair } from 'dpop';
import {
  Authenticated,
  CurrentUser,
  DpopProofVerifier,
  exclusivePGliteDriver,
  Public,
  SessionService,
  ZeroTrustModule,
  type ZeroTrustPrincipal,
  ZeroTrustSessionBinding1732000110000,
  ZeroTrustSessionSenderKey1732000170000,
  ZeroTrustSessions1732000100000,
} from 'nestjs-zero-trust';
import type { AddressInfo } from 'node:net';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaptureAuditSink } from '../support/capture-audit.sink.js';
import { bootstrapApp, PLATFORMS, type Platform } from '../support/test-app.js';

class RefreshBody {
  @IsString()
  @MaxLength(64)
  refreshToken!: string;
}

/** Login and refresh endpoints as an app writes them: verify the proof if sent, then call SessionService. */
@Controller()
class DpopSessionController {
  constructor(
    private readonly sessions: SessionService,
    private readonly dpop: DpopProofVerifier,
  ) {}

  @Public()
  @HttpCode(200)
  @Post('login')
  async login(@Req() request: object, @Res({ passthrough: true }) response: object) {
    await this.dpop.forTokenRequest(request, response);
    return this.sessions.create('user-1', { scopes: ['notes:read'], authMethods: ['pwd'] });
  }

  @Public()
  @HttpCode(200)
  @Post('refresh')
  async refresh(@Body() body: RefreshBody, @Req() request: object, @Res({ passthrough: true }) response: object) {
    await this.dpop.forTokenRequest(request, response);
    return this.sessions.rotate(body.refreshToken);
  }

  @Authenticated()
  @HttpCode(200)
  @Post('reauthenticate')
  reauthenticate(@CurrentUser() user: ZeroTrustPrincipal) {
    return this.sessions.reauthenticate(user.sessionId!, user.subject, ['pwd']);
  }

  @Authenticated()
  @Get('me')
  me(@CurrentUser() user: ZeroTrustPrincipal) {
    return { subject: user.subject, cnf: user.claims.cnf ?? null };
  }
}

async function createSessionApp(platform: Platform, withSenderKeyMigration = true) {
  const audit = new CaptureAuditSink();
  const pglite = await PGlite.create();
  const migrations = [ZeroTrustSessions1732000100000, ZeroTrustSessionBinding1732000110000, ...(withSenderKeyMigration ? [ZeroTrustSessionSenderKey1732000170000] : [])];
  @Module({
    imports: [
      TypeOrmModule.forRoot({ type: 'postgres', driver: exclusivePGliteDriver(pglite), migrations, migrationsRun: true, retryAttempts: 0 } as TypeOrmModuleOptions),
      ZeroTrustModule.forRoot({
        issuer: 'https://sessions.test',
        audience: 'sessions',
        auditSinks: [audit],
        databasePrivileges: 'off',
        anomalyRules: false,
        authFailureLimit: false,
        sessions: { refreshGracePeriod: 0 },
      }),
    ],
    controllers: [DpopSessionController],
  })
  class DpopSessionModule {}
  const app = await bootstrapApp(DpopSessionModule, platform, true);
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { app, audit, base: `http://127.0.0.1:${port}`, db: app.get(DataSource) };
}

interface Tokens {
  accessToken: string;
  tokenType: string;
  refreshToken: string;
  sessionId: string;
}

describe.each(PLATFORMS)('DPoP-bound sessions: login and refresh through SessionService (%s)', (platform) => {
  let app: INestApplication;
  let audit: CaptureAuditSink;
  let base: string;
  let db: DataSource;
  let key: KeyPair;

  beforeAll(async () => {
    ({ app, audit, base, db } = await createSessionApp(platform));
    key = await generateKeyPair('ES256');
  });
  afterAll(() => app?.close());

  async function post(path: string, body: unknown, proofKey?: KeyPair, extra: Record<string, string> = {}) {
    const headers: Record<string, string> = { 'content-type': 'application/json', ...extra };
    if (proofKey) headers.dpop = await generateProof(proofKey, `${base}${path}`, 'POST');
    const response = await fetch(`${base}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
    return { status: response.status, body: (await response.json().catch(() => undefined)) as Tokens };
  }
  const use = async (tokens: Pick<Tokens, 'accessToken'>, proofKey?: KeyPair) =>
    (
      await fetch(`${base}/me`, {
        headers: proofKey
          ? { authorization: `DPoP ${tokens.accessToken}`, dpop: await generateProof(proofKey, `${base}/me`, 'GET', undefined, tokens.accessToken) }
          : { authorization: `Bearer ${tokens.accessToken}` },
      })
    ).status;
  const tokenRows = async (sessionId: string) =>
    db.query(`SELECT token_hash, used_at FROM zt_refresh_tokens WHERE session_id = $1 ORDER BY created_at, id`, [sessionId]);

  it('binds the session to the key of the login proof: a DPoP access token, cnf.jkt, dpop_jkt stored', async () => {
    const { status, body } = await post('/login', {}, key);
    expect(status).toBe(200);
    expect(body.tokenType).toBe('DPoP');
    expect(await use(body, key)).toBe(200);
    expect(await use(body)).toBe(401);
    const [row] = await db.query(`SELECT dpop_jkt FROM zt_sessions WHERE id = $1`, [body.sessionId]);
    expect(row.dpop_jkt).toBe(JSON.parse(Buffer.from(body.accessToken.split('.')[1], 'base64url').toString()).cnf.jkt);
  });

  it('refuses to refresh a bound session without a proof, or with a proof by another key, and changes nothing', async () => {
    const { body: login } = await post('/login', {}, key);
    const before = await tokenRows(login.sessionId);
    audit.clear();
    expect((await post('/refresh', { refreshToken: login.refreshToken })).status).toBe(401);
    expect(audit.last('auth.failure')?.reason).toBe('dpop_proof_missing');
    expect((await post('/refresh', { refreshToken: login.refreshToken }, await generateKeyPair('ES256'))).status).toBe(401);
    expect(audit.last('auth.failure')?.reason).toBe('dpop_key_mismatch');
    expect(await tokenRows(login.sessionId)).toEqual(before);
    const [session] = await db.query(`SELECT revoked_at FROM zt_sessions WHERE id = $1`, [login.sessionId]);
    expect(session.revoked_at).toBeNull();
    // The legitimate client, with its key, still refreshes: the thief burned nothing.
    const refreshed = await post('/refresh', { refreshToken: login.refreshToken }, key);
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.tokenType).toBe('DPoP');
    expect(await use(refreshed.body, key)).toBe(200);
    // The new refresh token is bound as well.
    expect((await post('/refresh', { refreshToken: refreshed.body.refreshToken })).status).toBe(401);
    expect((await post('/refresh', { refreshToken: refreshed.body.refreshToken }, key)).status).toBe(200);
  });

  it('refuses a login whose proof was used before (replay at the token endpoint), creating no session', async () => {
    const proof = await generateProof(key, `${base}/login`, 'POST');
    const [{ n: before }] = await db.query(`SELECT count(*)::int AS n FROM zt_sessions`);
    const first = await fetch(`${base}/login`, { method: 'POST', headers: { 'content-type': 'application/json', dpop: proof }, body: '{}' });
    expect(first.status).toBe(200);
    const second = await fetch(`${base}/login`, { method: 'POST', headers: { 'content-type': 'application/json', dpop: proof }, body: '{}' });
    expect(second.status).toBe(400);
    expect(((await second.json()) as { message: string }).message).toBe('invalid_dpop_proof');
    expect(audit.last('auth.failure')?.reason).toBe('dpop_replay');
    const [{ n: after }] = await db.query(`SELECT count(*)::int AS n FROM zt_sessions`);
    expect(after).toBe(before + 1);
  });

  it('keeps a bound session bound when the user reauthenticates inside it', async () => {
    const { body: login } = await post('/login', {}, key);
    const response = await fetch(`${base}/reauthenticate`, {
      method: 'POST',
      headers: { authorization: `DPoP ${login.accessToken}`, dpop: await generateProof(key, `${base}/reauthenticate`, 'POST', undefined, login.accessToken) },
    });
    expect(response.status).toBe(200);
    const reauthenticated = (await response.json()) as Tokens;
    expect(reauthenticated.tokenType).toBe('DPoP');
    expect(await use(reauthenticated)).toBe(401);
    expect(await use(reauthenticated, key)).toBe(200);
  });

  it('leaves a login without a proof as it was: bearer tokens, refresh without proof; a proof at refresh binds the access token only', async () => {
    const { body: login } = await post('/login', {});
    expect(login.tokenType).toBe('Bearer');
    expect(await use(login)).toBe(200);
    const plain = await post('/refresh', { refreshToken: login.refreshToken });
    expect(plain.status).toBe(200);
    const bound = await post('/refresh', { refreshToken: plain.body.refreshToken }, key);
    expect(bound.body.tokenType).toBe('DPoP');
    expect(await use(bound.body)).toBe(401);
    expect(await use(bound.body, key)).toBe(200);
    expect((await post('/refresh', { refreshToken: bound.body.refreshToken })).status).toBe(200);
  });
});

describe('DPoP login without the sender-key migration', () => {
  it('refuses a bound login with a configuration error and creates no session; bearer logins still work', async () => {
    const { app, base, db } = await createSessionApp('express', false);
    try {
      const key = await generateKeyPair('ES256');
      const bound = await fetch(`${base}/login`, { method: 'POST', headers: { 'content-type': 'application/json', dpop: await generateProof(key, `${base}/login`, 'POST') }, body: '{}' });
      expect(bound.status).toBe(500);
      expect(await db.query(`SELECT id FROM zt_sessions`)).toEqual([]);
      const plain = await fetch(`${base}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(plain.status).toBe(200);
    } finally {
      await app.close();
    }
  });
});

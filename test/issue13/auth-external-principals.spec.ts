/**
 * Issue 13, item 7: tokens of an external issuer acted as local users. A provider's token whose `sub`
 * equalled a local user's id read that user's records; one with `scope: notes:admin` and `amr: [mfa]`
 * read any record, the audit log and disabled a user; logout-all and disabling did not stop it.
 *
 * Now: a principal's `ownerId` is its subject for this app's own tokens and `<issuer>#<subject>` for an
 * external issuer's (OpenID Connect Core §5.7: only `iss` and `sub` together identify a user), so no
 * provider can name a local owner; an external issuer's scopes, roles and `amr` count only through
 * its explicit `allowedScopes`, `allowedRoles` and `trustAmr`; and `PrincipalBlocklist` cuts an
 * external principal off on every instance, checked on every request.
 */
import { Body, Controller, Get, type INestApplication, Module, Param, Post } from '@nestjs/common';
import { TypeOrmModule, type TypeOrmModuleOptions } from '@nestjs/typeorm';
import { IsString, Length } from 'class-validator';
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  Authenticated,
  CurrentUser,
  ManualClock,
  MemoryStore,
  Owned,
  OwnedRepository,
  OwnedResource,
  OwnsResource,
  PrincipalBlocklist,
  RequireMfa,
  Roles,
  Scopes,
  TokenService,
  ZeroTrustModule,
  type ZeroTrustModuleOptions,
  type ZeroTrustPrincipal,
} from 'nestjs-zero-trust';
import request from 'supertest';
import { Column, DataSource, Entity, PrimaryColumn } from 'typeorm';
import { PGliteDriver } from 'typeorm-pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveZeroTrustOptions } from '../../lib/zero-trust.options.js';
import { CaptureAuditSink } from '../support/capture-audit.sink.js';
import { forgeToken, rs256 } from '../support/jwt-forge.js';
import { requireRedisUrl } from '../support/services.js';
import { bootstrapApp, PLATFORMS, type Platform } from '../support/test-app.js';

@Entity('docs')
class Doc {
  @PrimaryColumn('uuid', { default: () => 'gen_random_uuid()' })
  id!: string;

  /** Text: owned by local users and by external principals alike. */
  @Column('varchar')
  ownerId!: string;

  @Column('varchar')
  title!: string;
}

@Entity('vaults')
class Vault {
  @PrimaryColumn('uuid', { default: () => 'gen_random_uuid()' })
  id!: string;

  /** A UUID column, like the sample's `notes.owner_id`: only local users can own a row here. */
  @Column('uuid')
  ownerId!: string;
}

class DocDto {
  @IsString()
  @Length(1, 50)
  title!: string;
}

@Controller()
class ExternalController {
  @Authenticated()
  @Get('docs')
  list(@Owned(Doc) docs: OwnedRepository<Doc>) {
    return docs.find({ order: { title: 'ASC' } });
  }

  @Authenticated()
  @Post('docs')
  create(@Owned(Doc) docs: OwnedRepository<Doc>, @Body() dto: DocDto) {
    return docs.create({ title: dto.title });
  }

  @OwnsResource(Doc, { adminScope: 'docs:admin' })
  @Get('docs/:id')
  get(@OwnedResource() doc: Doc) {
    return doc;
  }

  @Authenticated()
  @Get('vaults')
  vaults(@Owned(Vault) vaults: OwnedRepository<Vault>) {
    return vaults.find();
  }

  @Authenticated()
  @Post('vaults')
  createVault(@Owned(Vault) vaults: OwnedRepository<Vault>) {
    return vaults.create({});
  }

  @OwnsResource(Vault)
  @Get('vaults/:id')
  vault(@OwnedResource() vault: Vault) {
    return vault;
  }

  @RequireMfa()
  @Scopes('users:admin')
  @Post('admin/users/:id/disable')
  disable(@Param('id') id: string) {
    return { disabled: id };
  }

  @RequireMfa()
  @Scopes('audit:read')
  @Get('admin/audit')
  audit() {
    return { events: [] };
  }

  @Scopes('reports:read')
  @Get('reports')
  reports() {
    return { reports: [] };
  }

  @Roles('staff')
  @Get('staff')
  staff() {
    return { staff: true };
  }

  @Authenticated()
  @Get('me')
  me(@CurrentUser() user: ZeroTrustPrincipal) {
    return user;
  }
}

const OWN = 'https://api.issue13.test';
const IDP = 'https://idp.issue13.test';
const MAPPED = 'https://mapped-idp.issue13.test';
const AUDIENCE = 'docs-api';
const provider = generateKeyPairSync('rsa', { modulusLength: 2048 });
const LOCAL_USER = randomUUID();
const HOSTILE_CLAIMS = { sub: LOCAL_USER, scope: 'docs:admin users:admin audit:read reports:read', roles: ['staff'], amr: ['pwd', 'mfa'] };

let jwks: Server;
let jwksUri: string;
beforeAll(async () => {
  jwks = createServer((_req, res) => {
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ keys: [{ ...provider.publicKey.export({ format: 'jwk' }), kid: 'idp-1', alg: 'RS256', use: 'sig' }] }));
  });
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  jwksUri = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`;
});
afterAll(() => new Promise((resolve) => jwks?.close(resolve)));

const externalToken = (issuer: string, claims: Record<string, unknown>, clock?: ManualClock) => {
  const now = Math.floor((clock?.now() ?? Date.now()) / 1000);
  return forgeToken({ alg: 'RS256', typ: 'at+jwt', kid: 'idp-1' }, { iss: issuer, aud: AUDIENCE, iat: now, exp: now + 600, jti: randomUUID(), ...claims }, rs256(provider.privateKey));
};

const issuers = () => [
  { issuer: IDP, jwksUri, audience: AUDIENCE },
  { issuer: MAPPED, jwksUri, audience: AUDIENCE, allowedScopes: ['reports:read', 'users:admin'], allowedRoles: ['staff'], trustAmr: ['mfa'] },
];

async function createExternalApp(platform: Platform, options: Partial<ZeroTrustModuleOptions> = {}, listen = false) {
  const audit = new CaptureAuditSink();
  @Module({
    imports: [
      ZeroTrustModule.forRoot({ issuer: OWN, audience: AUDIENCE, auditSinks: [audit], anomalyRules: false, externalIssuers: issuers(), ...options }),
      TypeOrmModule.forRoot({ type: 'postgres', driver: new PGliteDriver().driver, entities: [Doc, Vault], synchronize: true, retryAttempts: 0 } as TypeOrmModuleOptions),
    ],
    controllers: [ExternalController],
  })
  class ExternalModule {}
  return { app: await bootstrapApp(ExternalModule, platform, listen), audit };
}

describe.each(PLATFORMS)('external-issuer principals (%s)', (platform) => {
  let app: INestApplication;
  let audit: CaptureAuditSink;
  let db: DataSource;
  let clock: ManualClock;
  let local: string;
  let localDoc: string;
  let localVault: string;

  const as = (token: string) => ({ Authorization: `Bearer ${token}` });
  const http = () => request(app.getHttpServer());

  beforeAll(async () => {
    clock = new ManualClock();
    ({ app, audit } = await createExternalApp(platform, { clock }));
    db = app.get(DataSource);
    local = app.get(TokenService).issueAccessToken({ subject: LOCAL_USER }).accessToken;
    [{ id: localDoc }] = await db.query(`INSERT INTO docs ("ownerId", title) VALUES ($1, 'local secret') RETURNING id`, [LOCAL_USER]);
    [{ id: localVault }] = await db.query(`INSERT INTO vaults ("ownerId") VALUES ($1) RETURNING id`, [LOCAL_USER]);
  });
  afterAll(() => app?.close());

  it("13.7: a provider token whose sub equals a local user's id owns none of that user's records", async () => {
    const token = externalToken(IDP, { sub: LOCAL_USER }, clock);
    // Control: the local user reads its own.
    await http().get(`/docs/${localDoc}`).set(as(local)).expect(200);
    expect((await http().get('/docs').set(as(local)).expect(200)).body).toHaveLength(1);

    audit.clear();
    await http().get(`/docs/${localDoc}`).set(as(token)).expect(404);
    expect(audit.last('access.denied')).toMatchObject({ reason: 'not_owner', principal: { subject: `${IDP}#${LOCAL_USER}` } });
    await http().get(`/vaults/${localVault}`).set(as(token)).expect(404);
    expect((await http().get('/docs').set(as(token)).expect(200)).body).toEqual([]);
    // A UUID owner column can never hold an external owner: nothing is listed, and nothing breaks (no 500).
    expect((await http().get('/vaults').set(as(token)).expect(200)).body).toEqual([]);
    await http().post('/vaults').set(as(token)).send({}).expect(403);
    expect((await db.query('SELECT count(*)::int AS n FROM vaults'))[0].n).toBe(1);
    const principal = (await http().get('/me').set(as(token)).expect(200)).body as ZeroTrustPrincipal;
    expect(principal).toMatchObject({ subject: LOCAL_USER, issuer: IDP, ownerId: `${IDP}#${LOCAL_USER}` });
  });

  it('13.7: what an external principal creates is owned by issuer and subject together', async () => {
    const token = externalToken(IDP, { sub: LOCAL_USER }, clock);
    const created = (await http().post('/docs').set(as(token)).send({ title: 'from the provider' }).expect(201)).body as Doc;
    expect(created.ownerId).toBe(`${IDP}#${LOCAL_USER}`);
    expect((await db.query('SELECT "ownerId" FROM docs WHERE id = $1', [created.id]))[0].ownerId).toBe(`${IDP}#${LOCAL_USER}`);
    await http().get(`/docs/${created.id}`).set(as(token)).expect(200);
    // Neither the local user with that id, nor the same subject at another issuer, owns it.
    await http().get(`/docs/${created.id}`).set(as(local)).expect(404);
    await http().get(`/docs/${created.id}`).set(as(externalToken(MAPPED, { sub: LOCAL_USER }, clock))).expect(404);
    expect(((await http().get('/docs').set(as(local)).expect(200)).body as Doc[]).map((doc) => doc.title)).toEqual(['local secret']);
    expect(((await http().get('/docs').set(as(token)).expect(200)).body as Doc[]).map((doc) => doc.title)).toEqual(['from the provider']);
  });

  it('13.7: scopes, roles and amr of an external issuer grant nothing without an explicit mapping', async () => {
    const token = externalToken(IDP, HOSTILE_CLAIMS, clock);
    const principal = (await http().get('/me').set(as(token)).expect(200)).body as ZeroTrustPrincipal;
    expect(principal).toMatchObject({ scopes: [], roles: [], authMethods: [] });
    // The claims stay readable as claims, for an app that wants to look, but authorize nothing.
    expect(principal.claims.scope).toBe(HOSTILE_CLAIMS.scope);
    await http().get(`/docs/${localDoc}`).set(as(token)).expect(404);
    audit.clear();
    await http().post(`/admin/users/${LOCAL_USER}/disable`).set(as(token)).expect(403);
    expect(audit.last('access.denied')?.reason).toBe('mfa_required');
    await http().get('/admin/audit').set(as(token)).expect(403);
    await http().get('/reports').set(as(token)).expect(403);
    await http().get('/staff').set(as(token)).expect(403);
  });

  it('13.7: an explicit per-issuer mapping grants exactly what it lists', async () => {
    const token = externalToken(MAPPED, HOSTILE_CLAIMS, clock);
    const principal = (await http().get('/me').set(as(token)).expect(200)).body as ZeroTrustPrincipal;
    expect(principal).toMatchObject({ scopes: ['users:admin', 'reports:read'], roles: ['staff'], authMethods: ['mfa'] });
    await http().get('/reports').set(as(token)).expect(200);
    await http().get('/staff').set(as(token)).expect(200);
    await http().post(`/admin/users/${LOCAL_USER}/disable`).set(as(token)).expect(201);
    // Not listed: audit:read and docs:admin.
    await http().get('/admin/audit').set(as(token)).expect(403);
    await http().get(`/docs/${localDoc}`).set(as(token)).expect(404);
    // amr values other than the trusted ones are dropped: `pwd` alone satisfies nothing.
    const pwdOnly = externalToken(MAPPED, { ...HOSTILE_CLAIMS, amr: ['pwd', 'otp'] }, clock);
    await http().post(`/admin/users/${LOCAL_USER}/disable`).set(as(pwdOnly)).expect(403);
  });

  it('13.7: an operator cuts one external principal off, checked on every request (cached tokens too)', async () => {
    const blocklist = app.get(PrincipalBlocklist);
    const victimOfCompromise = externalToken(IDP, { sub: 'idp|mallory' }, clock);
    const colleague = externalToken(IDP, { sub: 'idp|alice' }, clock);
    const sameSubjectElsewhere = externalToken(MAPPED, { sub: 'idp|mallory' }, clock);
    const localNamedLikeIt = app.get(TokenService).issueAccessToken({ subject: 'idp|mallory' }).accessToken;
    await http().get('/me').set(as(victimOfCompromise)).expect(200);
    await http().get('/me').set(as(victimOfCompromise)).expect(200); // from the verified-token cache

    await blocklist.block(IDP, 'idp|mallory', 60);
    expect(audit.last('principal.blocked')).toMatchObject({ principal: { subject: `${IDP}#idp|mallory` }, details: { seconds: 60 } });
    await http().get('/me').set(as(victimOfCompromise)).expect(401);
    expect(audit.last('auth.failure')?.reason).toBe('principal_blocked');
    await http().get('/me').set(as(externalToken(IDP, { sub: 'idp|mallory' }, clock))).expect(401);
    await http().get('/me').set(as(colleague)).expect(200);
    await http().get('/me').set(as(sameSubjectElsewhere)).expect(200);
    await http().get('/me').set(as(localNamedLikeIt)).expect(200);
    expect(await blocklist.isBlocked(IDP, 'idp|mallory')).toBe(true);

    // The block lasts the time given (the injected clock moves; nobody sleeps)...
    clock.advance(61_000);
    await http().get('/me').set(as(externalToken(IDP, { sub: 'idp|mallory' }, clock))).expect(200);
    // ...or until it is lifted.
    await blocklist.block(IDP, 'idp|mallory');
    await http().get('/me').set(as(victimOfCompromise)).expect(401);
    await blocklist.unblock(IDP, 'idp|mallory');
    expect(audit.last('principal.unblocked')).toBeDefined();
    await http().get('/me').set(as(victimOfCompromise)).expect(200);
  });

  it('13.7: the deny list refuses what it cannot enforce', async () => {
    const blocklist = app.get(PrincipalBlocklist);
    await expect(blocklist.block('https://idp.issue13.tset', 'x')).rejects.toThrow(/not a configured external issuer.*https:\/\/idp\.issue13\.test/s);
    await expect(blocklist.block(OWN, LOCAL_USER)).rejects.toThrow(/SessionService\.revokeAll/);
    await expect(blocklist.block(IDP, '')).rejects.toThrow(/subject/);
    await expect(blocklist.block(IDP, 'x', 0)).rejects.toThrow(/seconds/);
    await expect(blocklist.block(IDP, 'x', Number.POSITIVE_INFINITY)).rejects.toThrow(/seconds/);
  });

  it('13.7: this app never issues a subject that reads as an external principal', () => {
    const tokens = app.get(TokenService);
    expect(() => tokens.issueAccessToken({ subject: `${IDP}#${LOCAL_USER}` })).toThrow(/external issuer/);
    expect(() => tokens.issueAccessToken({ subject: `${MAPPED}#x` })).toThrow(/external issuer/);
    expect(tokens.issueAccessToken({ subject: 'user#1' }).accessToken).toBeTruthy();
  });
});

describe.each(PLATFORMS)('the deny list when the store cannot answer (%s)', (platform) => {
  class DownStore extends MemoryStore {
    override async ttl(): Promise<never> {
      throw new Error('store down');
    }
  }

  it('13.7: onStoreFailure.auth decides: closed refuses external principals (503), open lets them through, reported either way', async () => {
    for (const [mode, status] of [['closed', 503], ['open', 200]] as const) {
      const { app, audit } = await createExternalApp(platform, { store: new DownStore(), onStoreFailure: { auth: mode } });
      try {
        const token = externalToken(IDP, { sub: 'idp|someone' });
        await request(app.getHttpServer()).get('/me').set('Authorization', `Bearer ${token}`).expect(status);
        expect(audit.last('store.unavailable')?.reason).toBe(mode === 'closed' ? 'fail_closed' : 'fail_open');
        // This app's own tokens never ask the deny list.
        await request(app.getHttpServer()).get('/me').set('Authorization', `Bearer ${app.get(TokenService).issueAccessToken({ subject: LOCAL_USER }).accessToken}`).expect(200);
      } finally {
        await app.close();
      }
    }
  });
});

describe('external-issuer mappings are checked at boot', () => {
  const base = { issuer: OWN, audience: AUDIENCE };
  const issuer = (extra: Record<string, unknown>) => ({ ...base, externalIssuers: [{ issuer: IDP, jwksUri: 'https://idp.issue13.test/jwks', audience: AUDIENCE, ...extra }] });

  it.each([
    ['a misspelled field', { allowedScope: ['a'] }, /unknown option "externalIssuers\[0\]\.allowedScope"\. Did you mean "allowedScopes"\?/],
    ['a string for a list', { allowedScopes: 'reports:read' }, /externalIssuers\[0\]\.allowedScopes must be a list/],
    ['a scope with a space', { allowedScopes: ['reports:read audit:read'] }, /externalIssuers\[0\]\.allowedScopes\[0\] must be a scope token/],
    ['an empty role', { allowedRoles: [''] }, /externalIssuers\[0\]\.allowedRoles\[0\]/],
    ['a string for trustAmr', { trustAmr: 'yes' }, /externalIssuers\[0\]\.trustAmr must be/],
    ['an empty trustAmr list', { trustAmr: [] }, /externalIssuers\[0\]\.trustAmr must be/],
  ])('13.7: refuses %s', (_name, extra, message) => {
    expect(() => resolveZeroTrustOptions(issuer(extra) as ZeroTrustModuleOptions)).toThrow(message);
  });

  it('13.7: defaults to granting nothing', () => {
    const [resolved] = resolveZeroTrustOptions(issuer({}) as ZeroTrustModuleOptions).auth.externalIssuers;
    expect(resolved).toMatchObject({ allowedScopes: [], allowedRoles: [], trustAmr: false });
  });
});

const redisUrl = requireRedisUrl();

describe.skipIf(!redisUrl)('the deny list reaches every instance through the store', () => {
  it('13.7: a block made on one instance is enforced by the other at once', async () => {
    const storeKeyPrefix = `zt-test-${randomBytes(6).toString('hex')}:`;
    const one = await createExternalApp('express', { store: redisUrl, storeKeyPrefix }, true);
    const two = await createExternalApp('fastify', { store: redisUrl, storeKeyPrefix }, true);
    try {
      const token = externalToken(IDP, { sub: 'idp|mallory' });
      await request(two.app.getHttpServer()).get('/me').set('Authorization', `Bearer ${token}`).expect(200);
      await one.app.get(PrincipalBlocklist).block(IDP, 'idp|mallory', 30);
      await request(two.app.getHttpServer()).get('/me').set('Authorization', `Bearer ${token}`).expect(401);
      expect(two.audit.last('auth.failure')?.reason).toBe('principal_blocked');
      await two.app.get(PrincipalBlocklist).unblock(IDP, 'idp|mallory');
      await request(one.app.getHttpServer()).get('/me').set('Authorization', `Bearer ${token}`).expect(200);
    } finally {
      await one.app.close();
      await two.app.close();
    }
  });
});

/**
 * Issue 13, item 19: a handler-level `@Roles('user')` replaced a controller-level `@Roles('admin')`,
 * so any user reached an admin controller's handler that named a role of its own. Both levels apply
 * now, like `@Scopes`: the caller needs one role of each level's list.
 */
import { Controller, Get, type INestApplication, Module } from '@nestjs/common';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Roles, Scopes, TokenService, ZeroTrustModule } from 'nestjs-zero-trust';
import { AUTHZ_PLAN } from '../../lib/authz/authz.plan.js';
import { RoutePlans } from '../../lib/core/route-plan.js';
import { CaptureAuditSink } from '../support/capture-audit.sink.js';
import { bootstrapApp, PLATFORMS } from '../support/test-app.js';

@Roles('admin')
@Controller('admin')
class AdminController {
  @Roles('user')
  @Get('reports')
  reports() {
    return { ok: 'reports' };
  }

  @Roles('auditor', 'user')
  @Get('either')
  either() {
    return { ok: 'either' };
  }

  @Get('plain')
  plain() {
    return { ok: 'plain' };
  }

  @Scopes('reports:read')
  @Get('scoped')
  scoped() {
    return { ok: 'scoped' };
  }
}

@Controller('open')
class OpenController {
  @Roles('user')
  @Get()
  open() {
    return { ok: 'open' };
  }
}

describe.each(PLATFORMS)('13.19 @Roles on a controller and a handler both apply (%s)', (platform) => {
  let app: INestApplication;
  const audit = new CaptureAuditSink();
  const as = (roles: string[], path: string, scopes: string[] = []) => {
    const token = app.get(TokenService).issueAccessToken({ subject: `u-${roles.join('-')}`, roles, scopes }).accessToken;
    return request(app.getHttpServer()).get(path).set('Authorization', `Bearer ${token}`);
  };

  beforeAll(async () => {
    @Module({
      imports: [ZeroTrustModule.forRoot({ issuer: 'https://issuer.test', audience: 'roles', auditSinks: [audit], anomalyRules: false })],
      controllers: [AdminController, OpenController],
    })
    class RolesModule {}
    app = await bootstrapApp(RolesModule, platform);
  });
  afterAll(() => app?.close());

  it('13.19: a user without the controller\'s role is refused a handler that names its own role', async () => {
    await as(['user'], '/admin/reports').expect(403);
    const denied = audit.events.filter((event) => event.type === 'access.denied').at(-1);
    expect(denied?.reason).toBe('missing_role');
    expect(denied?.details?.rule).toBe('Roles(admin)');
  });

  it('13.19: the controller\'s role alone is not enough either', async () => {
    await as(['admin'], '/admin/reports').expect(403);
    expect(audit.events.filter((event) => event.type === 'access.denied').at(-1)?.details?.rule).toBe('Roles(user)');
  });

  it('13.19: one role of each level passes', async () => {
    await as(['admin', 'user'], '/admin/reports').expect(200, { ok: 'reports' });
    await as(['admin', 'auditor'], '/admin/either').expect(200, { ok: 'either' });
    await as(['auditor'], '/admin/either').expect(403);
  });

  it('13.19: a handler without @Roles keeps the controller\'s, and scopes add to it', async () => {
    await as(['admin'], '/admin/plain').expect(200);
    await as(['user'], '/admin/plain').expect(403);
    await as(['admin'], '/admin/scoped').expect(403);
    await as(['user'], '/admin/scoped', ['reports:read']).expect(403);
    await as(['admin'], '/admin/scoped', ['reports:read']).expect(200);
  });

  it('13.19: a handler-level @Roles alone still works', async () => {
    await as(['user'], '/open').expect(200);
    await as(['admin'], '/open').expect(403);
  });

  it('13.19: the plan keeps one list per level, controller first', () => {
    const plans = app.get(RoutePlans);
    expect(plans.plan(AdminController.prototype.reports, AdminController).get(AUTHZ_PLAN).roleGroups).toEqual([['admin'], ['user']]);
    expect(plans.plan(AdminController.prototype.plain, AdminController).get(AUTHZ_PLAN).roleGroups).toEqual([['admin']]);
    expect(plans.plan(OpenController.prototype.open, OpenController).get(AUTHZ_PLAN).roleGroups).toEqual([['user']]);
  });
});

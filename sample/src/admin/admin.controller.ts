import { Body, Controller, Get, Header, HttpCode, Param, ParseUUIDPipe, Post, Put, Query } from '@nestjs/common';
import { MetricsService, RequireMfa, RequireRecentAuth, Scopes } from 'nestjs-zero-trust';
import { DataSource } from 'typeorm';
import { AuthService } from '../auth/auth.service.js';
import { AuditQueryDto } from './audit-query.dto.js';
import { ScopesDto } from './scopes.dto.js';

/** Operators only: a scope in the token and, except for metrics scrapers, a session that passed MFA. */
@Controller()
export class AdminController {
  constructor(
    private readonly dataSource: DataSource,
    private readonly auth: AuthService,
    private readonly metricsService: MetricsService,
  ) {}

  /** The audit trail, newest first, paginated by `before` (the last id of the previous page). */
  @RequireMfa()
  @Scopes('audit:read')
  @Get('admin/audit')
  async audit(@Query() query: AuditQueryDto) {
    const limit = query.limit ?? 50;
    const rows = await this.dataSource.query(
      `SELECT id::text AS id, time, type, outcome, reason, request_id AS "requestId", subject, session_id AS "sessionId", ip, method, route, details
         FROM zt_audit_log
        WHERE ($1::text IS NULL OR type = $1) AND ($2::text IS NULL OR subject = $2) AND ($3::bigint IS NULL OR id < $3::bigint)
        ORDER BY id DESC LIMIT $4`,
      [query.type ?? null, query.principal ?? null, query.before ?? null, limit],
    );
    return { events: rows, next: rows.length === limit ? rows[rows.length - 1].id : null };
  }

  /** Disabling a user revokes every session: their access tokens get 401 on the next request. */
  @RequireMfa()
  @Scopes('users:admin')
  @Post('admin/users/:id/disable')
  @HttpCode(204)
  disable(@Param('id', new ParseUUIDPipe({ version: '4' })) id: string) {
    return this.auth.disableUser(id);
  }

  /**
   * Grants a user exactly these scopes. Their next refresh issues them; their access tokens issued
   * before stop working at once (a grants change fails the per-request session check).
   */
  @RequireMfa()
  @RequireRecentAuth()
  @Scopes('users:admin')
  @Put('admin/users/:id/scopes')
  @HttpCode(204)
  setScopes(@Param('id', new ParseUUIDPipe({ version: '4' })) id: string, @Body() dto: ScopesDto) {
    return this.auth.setScopes(id, dto.scopes);
  }

  /**
   * The recovery path when a user lost both the authenticator and the recovery codes, after the
   * operator verified them out of band: the second factor is removed and every session revoked.
   */
  @RequireMfa()
  @RequireRecentAuth()
  @Scopes('users:admin')
  @Post('admin/users/:id/mfa/reset')
  @HttpCode(204)
  resetMfa(@Param('id', new ParseUUIDPipe({ version: '4' })) id: string) {
    return this.auth.resetMfa(id);
  }

  /** Prometheus scrape endpoint, for a service token carrying `metrics:read`. */
  @Scopes('metrics:read')
  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  metrics() {
    return this.metricsService.metrics();
  }
}

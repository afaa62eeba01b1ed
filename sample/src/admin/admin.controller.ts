import { Controller, Get, HttpCode, Inject, Param, ParseUUIDPipe, Post, Query, Req } from '@nestjs/common';
import { MemoryAuditSink, RequireMfa, Scopes } from 'nestjs-zero-trust';
import { AuthService } from '../auth/auth.service.js';
import { AuditQueryDto } from './audit-query.dto.js';

/** Operators only: a scope in the token and a session that passed MFA. */
@RequireMfa()
@Controller('admin')
export class AdminController {
  constructor(
    @Inject(MemoryAuditSink) private readonly recent: MemoryAuditSink,
    private readonly auth: AuthService,
  ) {}

  @Scopes('audit:read')
  @Get('audit')
  audit(@Query() query: AuditQueryDto) {
    return this.recent.query({ type: query.type, subject: query.principal, limit: query.limit });
  }

  /** Disabling a user revokes every session: their access tokens get 401 on the next request. */
  @Scopes('users:admin')
  @Post('users/:id/disable')
  @HttpCode(204)
  disable(@Param('id', new ParseUUIDPipe({ version: '4' })) id: string, @Req() request: object) {
    return this.auth.disableUser(id, request);
  }
}

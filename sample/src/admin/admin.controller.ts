import { Controller, Get, Inject, Query } from '@nestjs/common';
import { MemoryAuditSink, Scopes } from 'nestjs-zero-trust';
import { AuditQueryDto } from './audit-query.dto.js';

/** Operators only: the token must carry `audit:read`. */
@Controller('admin')
export class AdminController {
  constructor(@Inject(MemoryAuditSink) private readonly recent: MemoryAuditSink) {}

  @Scopes('audit:read')
  @Get('audit')
  audit(@Query() query: AuditQueryDto) {
    return this.recent.query({ type: query.type, subject: query.principal, limit: query.limit });
  }
}

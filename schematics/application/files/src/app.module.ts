import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { type BufferedAuditSink, ZeroTrustModule } from 'nestjs-zero-trust';
import { AccountModule } from './account/account.module.js';
import { AdminModule } from './admin/admin.module.js';
import { AUDIT_TRAIL, AuditTrailModule } from './audit/audit-trail.module.js';
import { AuthModule } from './auth/auth.module.js';
import { databaseModuleOptions } from './database/database.options.js';
import { HealthController } from './health/health.controller.js';
import { NotesModule } from './notes/notes.module.js';
import { zeroTrustOptions } from './zero-trust.config.js';

@Module({
  imports: [
    TypeOrmModule.forRootAsync(databaseModuleOptions()),
    AuditTrailModule,
    ZeroTrustModule.forRootAsync({
      imports: [AuditTrailModule],
      inject: [AUDIT_TRAIL],
      useFactory: (trail: BufferedAuditSink) => ({ ...zeroTrustOptions(), auditSinks: [trail] }),
    }),
    AuthModule,
    NotesModule,
    AccountModule,
    AdminModule,
  ],
  controllers: [HealthController],
})
export class AppModule {}

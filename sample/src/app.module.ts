import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { LoggerAuditSink, MemoryAuditSink, ZeroTrustModule } from 'nestjs-zero-trust';
import { AdminModule } from './admin/admin.module.js';
import { AuditModule } from './audit.module.js';
import { AuthModule } from './auth/auth.module.js';
import { databaseModuleOptions } from './database/database.options.js';
import { HealthController } from './health/health.controller.js';
import { NotesModule } from './notes/notes.module.js';
import { zeroTrustOptions } from './zero-trust.config.js';

@Module({
  imports: [
    AuditModule,
    ZeroTrustModule.forRootAsync({
      imports: [AuditModule],
      inject: [MemoryAuditSink],
      useFactory: (recent: MemoryAuditSink) => ({ ...zeroTrustOptions(), auditSinks: [new LoggerAuditSink(), recent] }),
    }),
    TypeOrmModule.forRootAsync(databaseModuleOptions()),
    AuthModule,
    NotesModule,
    AdminModule,
  ],
  controllers: [HealthController],
})
export class AppModule {}

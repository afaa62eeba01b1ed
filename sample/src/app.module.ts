import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ZeroTrustModule } from 'nestjs-zero-trust';
import { AuthModule } from './auth/auth.module.js';
import { databaseOptions } from './database/database.options.js';
import { HealthController } from './health/health.controller.js';
import { NotesModule } from './notes/notes.module.js';
import { zeroTrustOptions } from './zero-trust.config.js';

@Module({
  imports: [
    ZeroTrustModule.forRootAsync({ useFactory: () => zeroTrustOptions() }),
    TypeOrmModule.forRootAsync({ useFactory: () => databaseOptions() }),
    AuthModule,
    NotesModule,
  ],
  controllers: [HealthController],
})
export class AppModule {}

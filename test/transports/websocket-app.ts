import { PGlite } from '@electric-sql/pglite';
import { type INestApplication, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule, type TypeOrmModuleOptions } from '@nestjs/typeorm';
import { MessageBody, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { IsString, IsUUID, MaxLength } from 'class-validator';
import {
  Authenticated,
  CurrentUser,
  exclusivePGliteDriver,
  Owned,
  OwnedRepository,
  OwnedResource,
  OwnsResource,
  Public,
  SocketGuardian,
  zeroTrustWebSocketAdapter,
  ZeroTrustModule,
  type ZeroTrustPrincipal,
  ZeroTrustSessionBinding1732000110000,
  ZeroTrustSessions1732000100000,
} from 'nestjs-zero-trust';
import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { CaptureAuditSink } from '../support/capture-audit.sink.js';
import type { Platform } from '../support/test-app.js';

@Entity('ws_notes')
export class WsNote {
  @PrimaryColumn('uuid', { default: () => 'gen_random_uuid()' })
  id!: string;

  @Index()
  @Column('varchar')
  ownerId!: string;

  @Column('varchar')
  title!: string;
}

export class RenameNote {
  @IsUUID()
  id!: string;

  @IsString()
  @MaxLength(100)
  title!: string;
}

/** Counts handler bodies that ran, so a test can prove a refused message ran none. */
export const wsCalls = { rename: 0 };

@WebSocketGateway()
export class NotesTestGateway {
  @Public()
  @SubscribeMessage('ping')
  ping() {
    return { event: 'pong', data: true };
  }

  @Authenticated()
  @SubscribeMessage('whoami')
  whoami(@CurrentUser() user: ZeroTrustPrincipal) {
    return { event: 'whoami', data: user.subject };
  }

  @OwnsResource(WsNote)
  @SubscribeMessage('rename')
  async rename(@MessageBody() body: RenameNote, @OwnedResource() note: WsNote, @Owned(WsNote) notes: OwnedRepository<WsNote>) {
    wsCalls.rename++;
    const renamed = await notes.update(note.id, { title: body.title });
    return { event: 'renamed', data: renamed?.title };
  }
}

export const ALLOWED_ORIGIN = 'https://app.test';

export async function createWebSocketApp(platform: Platform, library: 'ws' | 'socket.io', gateways: Array<new () => object> = [NotesTestGateway]) {
  const audit = new CaptureAuditSink();
  const pglite = await PGlite.create();
  @Module({
    imports: [
      TypeOrmModule.forRoot({
        type: 'postgres',
        driver: exclusivePGliteDriver(pglite),
        entities: [WsNote],
        synchronize: true,
        migrations: [ZeroTrustSessions1732000100000, ZeroTrustSessionBinding1732000110000],
        migrationsRun: true,
        retryAttempts: 0,
      } as TypeOrmModuleOptions),
      ZeroTrustModule.forRoot({
        issuer: 'https://issuer.test',
        audience: 'ws',
        auditSinks: [audit],
        anomalyRules: false,
        databasePrivileges: 'off',
        accessTokenTtl: 6,
        clockTolerance: 0,
        sessions: {},
      }),
    ],
    providers: gateways,
  })
  class WebSocketAppModule {}
  let app: INestApplication;
  if (platform === 'fastify') {
    const { FastifyAdapter } = await import('@nestjs/platform-fastify');
    app = await NestFactory.create(WebSocketAppModule, new FastifyAdapter(), { logger: false, abortOnError: false });
  } else {
    app = await NestFactory.create(WebSocketAppModule, { logger: false, abortOnError: false });
  }
  const adapter = await zeroTrustWebSocketAdapter(app, {
    library,
    allowedOrigins: [ALLOWED_ORIGIN],
    authenticationTimeout: 2,
    revocationCheckInterval: 1,
    messageLimit: 20,
    messageWindow: 60,
    maxMessageBytes: 4096,
  });
  app.useWebSocketAdapter(adapter);
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  return { app, audit, guardian: adapter.guardian as SocketGuardian, url: `127.0.0.1:${address.port}` };
}

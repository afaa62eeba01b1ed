import { PGlite } from '@electric-sql/pglite';
import { Controller, Get, type INestApplication, Module } from '@nestjs/common';
import { TypeOrmModule, type TypeOrmModuleOptions } from '@nestjs/typeorm';
import {
  ApiKeyAuth,
  Authenticated,
  CurrentUser,
  exclusivePGliteDriver,
  ZeroTrustClients1732000180000,
  ZeroTrustModule,
  ZeroTrustSessionBinding1732000110000,
  ZeroTrustSessionSenderKey1732000170000,
  ZeroTrustSessions1732000100000,
  type ZeroTrustModuleOptions,
  type ZeroTrustPrincipal,
} from 'nestjs-zero-trust';
import type { AddressInfo } from 'node:net';
import { DataSource } from 'typeorm';
import { CaptureAuditSink } from '../support/capture-audit.sink.js';
import { bootstrapApp, type Platform } from '../support/test-app.js';

@Controller()
class IntegrationController {
  @ApiKeyAuth('reports:read')
  @Get('reports')
  reports(@CurrentUser() caller: ZeroTrustPrincipal) {
    return { subject: caller.subject, ownerId: caller.ownerId, scopes: caller.scopes };
  }

  @ApiKeyAuth('admin')
  @Get('admin')
  admin() {
    return { admin: true };
  }

  @Authenticated()
  @Get('me')
  me(@CurrentUser() caller: ZeroTrustPrincipal) {
    return { subject: caller.subject, clientId: caller.claims.client_id ?? null, scopes: caller.scopes };
  }
}

export interface ClientsProbe {
  app: INestApplication;
  audit: CaptureAuditSink;
  base: string;
  db: DataSource;
}

/** An app with the clients migration on PGlite: API keys and machine clients, nothing else. */
export async function createClientsApp(platform: Platform, options: Partial<ZeroTrustModuleOptions> = {}, controllers: (new (...args: never[]) => object)[] = []): Promise<ClientsProbe> {
  const audit = new CaptureAuditSink();
  const pglite = await PGlite.create();
  @Module({
    imports: [
      TypeOrmModule.forRoot({ type: 'postgres', driver: exclusivePGliteDriver(pglite), migrations: [ZeroTrustSessions1732000100000, ZeroTrustSessionBinding1732000110000, ZeroTrustSessionSenderKey1732000170000, ZeroTrustClients1732000180000], migrationsRun: true, retryAttempts: 0 } as TypeOrmModuleOptions),
      ZeroTrustModule.forRoot({
        issuer: 'https://clients.test',
        audience: 'clients',
        auditSinks: [audit],
        audit: { authSuccess: 'all' },
        databasePrivileges: 'off',
        anomalyRules: false,
        ...options,
      }),
    ],
    controllers: [IntegrationController, ...controllers],
  })
  class ClientsAppModule {}
  const app = await bootstrapApp(ClientsAppModule, platform, true);
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { app, audit, base: `http://127.0.0.1:${port}`, db: app.get(DataSource) };
}

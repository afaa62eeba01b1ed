import {
  Body,
  Controller,
  ForbiddenException,
  Get,
  type INestApplication,
  Module,
  Post,
  Query,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min, ValidateNested } from 'class-validator';
import { Authenticated, CurrentUser, Public, SecurityHeaders, ZeroTrustModule, type ZeroTrustModuleOptions, type ZeroTrustPrincipal } from 'nestjs-zero-trust';
import { CaptureAuditSink } from './capture-audit.sink.js';

export type Platform = 'express' | 'fastify';
export const PLATFORMS: Platform[] = ['express', 'fastify'];

class TagDto {
  @IsString()
  @MaxLength(20)
  name!: string;
}

export class ItemDto {
  @IsString()
  @MaxLength(50)
  title!: string;

  @IsOptional()
  @ValidateNested()
  @Type(() => TagDto)
  tag?: TagDto;
}

export class PageQuery {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;
}

/** A controller that exercises every outcome the module must shape: 2xx, 401, 403, 500, validation. */
@Controller()
export class ProbeController {
  @Authenticated()
  @Get('me')
  me(@CurrentUser() user: ZeroTrustPrincipal) {
    return user;
  }

  @Public()
  @Get('open')
  open() {
    return { open: true };
  }

  @Public()
  @Get('cacheable')
  @SecurityHeaders({ 'Cache-Control': 'public, max-age=60', 'Cross-Origin-Embedder-Policy': false })
  cacheable() {
    return { cacheable: true };
  }

  @Authenticated()
  @Get('forbidden')
  forbidden() {
    throw new ForbiddenException('Not yours');
  }

  @Public()
  @Get('crash')
  crash() {
    throw new Error('select * from secrets -- internal detail that must not leak');
  }

  @Public()
  @Post('items')
  create(@Body() item: ItemDto) {
    return { created: item, isDto: item instanceof ItemDto };
  }

  @Public()
  @Get('items')
  list(@Query() query: PageQuery) {
    return { limit: query.limit ?? 10, typeofLimit: typeof query.limit };
  }
}

export const TEST_ISSUER = 'https://issuer.test';
export const TEST_AUDIENCE = 'probe-api';

/** Creates and initializes an app on the given adapter, as the e2e suites all need it. */
export async function bootstrapApp(module: new () => object, platform: Platform, listen = false): Promise<INestApplication> {
  let app: INestApplication;
  if (platform === 'fastify') {
    const { FastifyAdapter } = await import('@nestjs/platform-fastify');
    app = await NestFactory.create(module, new FastifyAdapter(), { logger: false, abortOnError: false });
  } else {
    app = await NestFactory.create(module, { logger: false, abortOnError: false });
  }
  if (listen) {
    await app.listen(0, '127.0.0.1');
  } else {
    await app.init();
    if (platform === 'fastify') await app.getHttpAdapter().getInstance().ready();
  }
  return app;
}

export async function createProbeApp(
  platform: Platform,
  options: Partial<ZeroTrustModuleOptions> = {},
): Promise<{ app: INestApplication; audit: CaptureAuditSink }> {
  const audit = new CaptureAuditSink();
  @Module({
    imports: [ZeroTrustModule.forRoot({ issuer: TEST_ISSUER, audience: TEST_AUDIENCE, auditSinks: [audit], audit: { authSuccess: 'all' }, ...options })],
    controllers: [ProbeController],
  })
  class ProbeModule {}
  return { app: await bootstrapApp(ProbeModule, platform), audit };
}

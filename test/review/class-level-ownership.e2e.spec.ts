/**
 * Attack: `@OwnsResource()` is typed `MethodDecorator & ClassDecorator` (applyDecorators + SetMetadata),
 * so it compiles on a controller class. AUTHZ_PLAN reads the ownership rule from the handler only
 * (`route.own(OWNS_RESOURCE_KEY)`), so a class-level `@OwnsResource` is silently ignored: with any other
 * rule on the route (`@Scopes` here), strict mode is satisfied and every caller with the scope reads
 * every record (BOLA), while RLS_PLAN (read with `override`, class included) still marks the route as owned.
 * Either the rule applies to every handler of the controller or the app refuses to boot; never silence.
 */
import { Controller, Get, type INestApplication, Param } from '@nestjs/common';
import { Module } from '@nestjs/common';
import { OwnsResource, Scopes, TokenService, ZeroTrustModule } from 'nestjs-zero-trust';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { Column, Entity, PrimaryColumn } from 'typeorm';
import { bootstrapApp, PLATFORMS } from '../support/test-app.js';

@Entity('class_level_notes')
class ClassLevelNote {
  @PrimaryColumn('uuid') id!: string;
  @Column('uuid') ownerId!: string;
}

@OwnsResource(ClassLevelNote)
@Scopes('notes:read')
@Controller('class-owned')
class ClassOwnedController {
  @Get(':id')
  one(@Param('id') id: string) {
    // Stands for `repository.findOneBy({ id })`: the handler trusts the ownership rule above.
    return { id, secret: 'someone else\'s note' };
  }
}

describe.each(PLATFORMS)('@OwnsResource on a controller class (%s)', (platform) => {
  let app: INestApplication | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('is enforced or refused at boot, never silently ignored', async () => {
    @Module({
      imports: [ZeroTrustModule.forRoot({ issuer: 'https://issuer.test', audience: 'review', auditSinks: [] })],
      controllers: [ClassOwnedController],
    })
    class ClassOwnedModule {}
    let outcome: number | string;
    try {
      app = await bootstrapApp(ClassOwnedModule, platform);
      const stranger = app.get(TokenService).issueAccessToken({ subject: '00000000-0000-4000-8000-0000000000ff', scopes: ['notes:read'] }).accessToken;
      outcome = (await request(app.getHttpServer()).get('/class-owned/10000000-0000-4000-8000-00000000000a').set('Authorization', `Bearer ${stranger}`)).status;
    } catch (error) {
      outcome = `refused at boot: ${(error as Error).message}`;
    }
    expect(outcome).not.toBe(200);
  });
});

/**
 * Review 13 against issue 13.15 (@Sensitive() stripped by name from every response shape). The names
 * compared are the property's and its TypeORM column's. Nest's own serialization
 * (`ClassSerializerInterceptor`, the documented way to shape responses) runs inside the module's global
 * interceptor and renames properties per class-transformer's `@Expose({ name })`: the renamed field
 * reaches the strip under a name it does not know, and is sent.
 */
import { ClassSerializerInterceptor, Controller, Get, type INestApplication, Module, UseInterceptors } from '@nestjs/common';
import { Expose } from 'class-transformer';
import { Public, Sensitive, ZeroTrustModule } from 'nestjs-zero-trust';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapApp, PLATFORMS, type Platform } from '../support/test-app.js';

const SECRET = 'argon2id-review13-SECRET-HASH';

class UserView {
  id = 'u1';
  email = 'u1@example.com';

  @Sensitive()
  @Expose({ name: 'pwd' })
  passwordHash = SECRET;
}

@Controller('users')
@UseInterceptors(ClassSerializerInterceptor)
class UsersController {
  @Public() @Get('me') me() { return new UserView(); }
}

async function createApp(platform: Platform): Promise<INestApplication> {
  @Module({ imports: [ZeroTrustModule.forRoot({ issuer: 'https://issuer.test', audience: 'sensitive' })], controllers: [UsersController] })
  class SerializerModule {}
  return bootstrapApp(SerializerModule, platform);
}

describe.each(PLATFORMS)('review13: @Sensitive() with Nest serialization (%s)', (platform) => {
  let app: INestApplication;
  beforeAll(async () => {
    app = await createApp(platform);
  });
  afterAll(() => app?.close());

  it('review13: a @Sensitive() field renamed by @Expose({ name }) under ClassSerializerInterceptor is not sent', async () => {
    const response = await request(app.getHttpServer()).get('/users/me').expect(200);
    expect(response.body.email).toBe('u1@example.com');
    expect(response.text).not.toContain(SECRET);
  });
});

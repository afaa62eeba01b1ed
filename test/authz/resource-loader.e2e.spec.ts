import { BadRequestException, Controller, Get, Module } from '@nestjs/common';
import { OwnedResource, OwnsResource, ResourceLoader, TokenService, ZeroTrustModule } from 'nestjs-zero-trust';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { bootstrapApp, PLATFORMS } from '../support/test-app.js';

/** Records that live outside any ORM: a document service, say. */
class Invoice {
  constructor(
    readonly id: string,
    readonly ownerId: string,
    readonly total: number,
  ) {}
}

const INVOICES = new Map([
  ['inv-1', new Invoice('inv-1', 'alice', 10)],
  ['inv-2', new Invoice('inv-2', 'bob', 20)],
]);

/** The resource-loader port implemented by the app, plugged in through the `resourceLoader` option. */
class InvoiceLoader extends ResourceLoader {
  lookups = 0;
  async assertReady(): Promise<void> {}
  async parseId(_entity: unknown, raw: unknown): Promise<string> {
    if (typeof raw !== 'string' || !/^inv-\d+$/.test(raw)) throw new BadRequestException('id must look like inv-<n>');
    return raw;
  }
  async findById(_entity: unknown, id: string | number): Promise<object | null> {
    this.lookups++;
    return INVOICES.get(String(id)) ?? null;
  }
}

@Controller('invoices')
class InvoicesController {
  @OwnsResource(Invoice)
  @Get(':id')
  get(@OwnedResource() invoice: Invoice) {
    return invoice;
  }
}

describe.each(PLATFORMS)('the resource-loader port (%s)', (platform) => {
  it('checks ownership through a loader of the app, with no TypeORM at all', async () => {
    @Module({
      imports: [ZeroTrustModule.forRoot({ issuer: 'https://issuer.test', audience: 'invoices', anomalyRules: false, resourceLoader: InvoiceLoader } as never)],
      controllers: [InvoicesController],
    })
    class AppModule {}
    const app = await bootstrapApp(AppModule, platform);
    try {
      const tokens = app.get(TokenService);
      const alice = { Authorization: `Bearer ${tokens.issueAccessToken({ subject: 'alice' }).accessToken}` };
      expect((await request(app.getHttpServer()).get('/invoices/inv-1').set(alice).expect(200)).body).toEqual({ id: 'inv-1', ownerId: 'alice', total: 10 });
      // Bob's invoice answers exactly like a missing one; a malformed id never reaches the loader.
      await request(app.getHttpServer()).get('/invoices/inv-2').set(alice).expect(404);
      await request(app.getHttpServer()).get('/invoices/inv-9').set(alice).expect(404);
      const loader = app.get(ResourceLoader) as InvoiceLoader;
      const before = loader.lookups;
      await request(app.getHttpServer()).get('/invoices/nope').set(alice).expect(400);
      expect(loader.lookups).toBe(before);
    } finally {
      await app.close();
    }
  });

  it('refuses at boot a loader that is not one, and, with TypeORM, an entity the DataSource does not know', async () => {
    expect(() => ZeroTrustModule.forRoot({ issuer: 'i', audience: 'a', resourceLoader: class NotALoader {} } as never)).toThrow(
      /resourceLoader must be a class extending ResourceLoader/,
    );
    @Module({ imports: [ZeroTrustModule.forRoot({ issuer: 'https://issuer.test', audience: 'invoices' })], controllers: [InvoicesController] })
    class NoDatabaseModule {}
    await expect(bootstrapApp(NoDatabaseModule, platform)).rejects.toThrow(/no DataSource was found/);
  });
});

import { type ExecutionContext, Module, UnauthorizedException } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AuthorizationGuard, JwtAuthGuard, Public, ZeroTrustModule } from 'nestjs-zero-trust';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { INestApplicationContext } from '@nestjs/common';
import { ZeroTrustThrottlerGuard } from '../../lib/throttle/zero-trust-throttler.guard.js';

class Handlers {
  @Public()
  open() {
    return 'open';
  }
}

/** An execution context of a type no guard knows: what a transport added to Nest later would hand them. */
function contextOf(type: string): ExecutionContext {
  const args = [{ payload: true }, {}];
  return {
    getType: () => type,
    getArgs: () => args,
    getArgByIndex: (index: number) => args[index],
    getClass: () => Handlers,
    getHandler: () => Handlers.prototype.open,
    switchToHttp: () => ({ getRequest: () => args[0], getResponse: () => args[1], getNext: () => undefined }),
    switchToRpc: () => ({ getData: () => args[0], getContext: () => args[1] }),
    switchToWs: () => ({ getClient: () => args[0], getData: () => args[1], getPattern: () => '' }),
  } as unknown as ExecutionContext;
}

describe('deny-by-default holds for a transport the module does not know', () => {
  let app: INestApplicationContext;

  beforeAll(async () => {
    @Module({ imports: [ZeroTrustModule.forRoot({ issuer: 'https://issuer.test', audience: 'unknown' })] })
    class AppModule {}
    app = await NestFactory.createApplicationContext(AppModule, { logger: false });
  });
  afterAll(() => app?.close());

  it('refuses the call in every guard, even for a handler marked @Public()', async () => {
    await expect(app.get(JwtAuthGuard).canActivate(contextOf('kafka-streams'))).rejects.toBeInstanceOf(UnauthorizedException);
    await expect(app.get(ZeroTrustThrottlerGuard).canActivate(contextOf('kafka-streams'))).resolves.toBe(false);
    expect(() => app.get(AuthorizationGuard).canActivate(contextOf('kafka-streams'))).toThrow(UnauthorizedException);
  });

  it('lets the same @Public() handler through on a transport it knows (the refusal above is the type, not the handler)', async () => {
    const rpc = contextOf('rpc');
    await expect(app.get(JwtAuthGuard).canActivate(rpc)).resolves.toBe(true);
  });
});

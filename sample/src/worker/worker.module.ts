import { type DynamicModule, Module } from '@nestjs/common';
import { ZeroTrustModule } from 'nestjs-zero-trust';
import { NotesIndex } from './notes-index.js';
import { NotesIndexerController } from './notes-indexer.controller.js';

/**
 * The worker trusts one issuer, the API (`ZT_ISSUER`), with the API's public key only
 * (`ZT_API_PUBLIC_KEY`): it can verify the API's service tokens and can mint none. Its audience
 * (`ZT_WORKER_AUDIENCE`, default `notes-worker`) is what the API's tokens for it must name.
 */
@Module({})
export class WorkerModule {
  static forRoot(env: NodeJS.ProcessEnv = process.env): DynamicModule {
    const publicKey = env.ZT_API_PUBLIC_KEY?.replace(/\\n/g, '\n');
    if (!publicKey) throw new Error('ZT_API_PUBLIC_KEY must hold the API\'s ES256 public key (PEM): the worker accepts only its service tokens.');
    return {
      module: WorkerModule,
      imports: [
        ZeroTrustModule.forRoot({
          issuer: env.ZT_ISSUER ?? 'http://localhost:3000',
          audience: env.ZT_WORKER_AUDIENCE ?? 'notes-worker',
          keys: [{ kid: env.ZT_JWT_KID ?? 'api', alg: 'ES256', publicKey }],
          store: env.REDIS_URL || undefined,
          storeKeyPrefix: env.ZT_REDIS_PREFIX ?? 'zt-worker:',
        }),
      ],
      controllers: [NotesIndexerController],
      providers: [NotesIndex],
    };
  }
}

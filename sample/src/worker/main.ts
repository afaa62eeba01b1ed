import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { NatsServer } from './nats.transport.js';
import { WorkerModule } from './worker.module.js';

/** `node sample/dist/worker/main.js`: the notes indexer, listening on NATS (`ZT_NATS_URL`). */
async function main(): Promise<void> {
  const servers = process.env.ZT_NATS_URL ?? 'nats://127.0.0.1:4222';
  const worker = await NestFactory.createMicroservice(WorkerModule.forRoot(), { strategy: new NatsServer({ servers, queue: 'notes-indexer' }), abortOnError: false });
  worker.enableShutdownHooks();
  await worker.listen();
  console.log(`notes indexer listening on ${servers}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});

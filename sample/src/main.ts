import 'reflect-metadata';
import { createSampleApp, type HttpPlatform } from './app.factory.js';

async function main(): Promise<void> {
  const app = await createSampleApp((process.env.ZT_HTTP_PLATFORM as HttpPlatform | undefined) ?? 'express');
  app.enableShutdownHooks();
  const port = Number(process.env.PORT ?? 3000);
  await app.listen(port);
  console.log(`nestjs-zero-trust sample API listening on http://localhost:${port} (try: curl -i http://localhost:${port}/notes)`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});

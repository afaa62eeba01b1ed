import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { type Contender, createContender, type Platform } from './contenders.js';

// Exit cleanly on SIGINT so `node --cpu-prof` writes its profile.
process.on('SIGINT', () => process.exit(0));

// One contender per process, so its memory is its own. Prints one JSON line when it is ready.
const [contender, platform] = process.argv.slice(2) as [Contender, Platform];
const { app, token, noteId } = await createContender(contender, platform);
await app.listen(0, '127.0.0.1');
const { port } = app.getHttpServer().address() as AddressInfo;
process.stdout.write(`${JSON.stringify({ port, token, noteId })}\n`);

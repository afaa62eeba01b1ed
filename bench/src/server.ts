import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { type Contender, createContender, type Database, type Platform, RoundTripCounter } from './contenders.js';

// Exit cleanly on SIGINT/SIGTERM so `node --cpu-prof` writes its profile.
process.on('SIGINT', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));

// One contender per process, so its memory and its CPU time are its own. Prints one JSON line when
// ready; answers 'round-trips' over IPC with the SQL round trips TypeORM made so far.
const [contender, platform, database] = process.argv.slice(2) as [Contender, Platform, Database];
const counter = new RoundTripCounter();
const { app, token } = await createContender({ contender, platform, database }, counter);
await app.listen(0, '127.0.0.1');
const { port } = app.getHttpServer().address() as AddressInfo;
process.on('message', (message) => {
  if (message === 'round-trips') process.send?.({ roundTrips: counter.count });
});
process.stdout.write(`${JSON.stringify({ port, token })}\n`);

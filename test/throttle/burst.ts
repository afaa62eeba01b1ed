import type { INestApplication } from '@nestjs/common';
import type { AddressInfo } from 'node:net';
import type { PasswordChecks } from './throttle-app.js';

export const baseUrl = (app: INestApplication) => `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;

export async function postLogin(url: string, body: Record<string, string>, headers: Record<string, string> = {}, path = '/auth/login'): Promise<number> {
  const response = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  await response.arrayBuffer();
  return response.status;
}

/** Waits (bounded, polling the event loop) until `condition` holds: for an event, never for a time. */
export async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/**
 * Sends logins to the given instances in turn, each one in flight before the next is sent, with every
 * password check held until all of them have reached the login step: the widest possible race, lined up
 * in a known order.
 */
export async function heldBurst(urls: string[], checks: PasswordChecks[], bodies: Record<string, string>[], path = '/auth/login'): Promise<number[]> {
  for (const check of checks) check.hold();
  const arrived = () => checks.reduce((sum, check) => sum + check.waiting + check.refused, 0);
  const before = arrived();
  const pending: Promise<number>[] = [];
  for (let i = 0; i < bodies.length; i++) {
    pending.push(postLogin(urls[i % urls.length], bodies[i], {}, path));
    await until(() => arrived() === before + i + 1, `login ${i + 1} to reach the login step`);
  }
  for (const check of checks) check.release();
  return Promise.all(pending);
}

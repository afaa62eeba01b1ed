import type { INestApplication } from '@nestjs/common';
import { solveChallenge } from 'altcha-lib';
import { deriveKey } from 'altcha-lib/algorithms/sha';
import type request from 'supertest';
import { DevelopmentMailer, Mailer, type MailMessage } from '../../lib/index.js';
import { asOwner } from '../support/sample-database.js';

export const json = { 'Content-Type': 'application/json' };
export const PASSWORD = 'correct horse battery';

/** Asks the sample for a challenge and solves it as the ALTCHA widget does; returns the base64 payload. */
export async function proof(http: ReturnType<typeof request>, action: string, email?: string, ip?: string): Promise<string> {
  const query = `/account/challenge?action=${action}${email ? `&email=${encodeURIComponent(email)}` : ''}`;
  const challenge = (await (ip ? http.get(query).set('X-Forwarded-For', ip) : http.get(query)).expect(200)).body;
  return encode(challenge, await solve(challenge));
}

export async function solve(challenge: { parameters: Record<string, unknown>; signature?: string }) {
  const solution = await solveChallenge({ challenge: challenge as never, deriveKey, timeout: 20_000 });
  if (!solution) throw new Error('could not solve the challenge');
  return solution;
}

export const encode = (challenge: unknown, solution: unknown) => Buffer.from(JSON.stringify({ challenge, solution })).toString('base64');

export const mailer = (app: INestApplication) => app.get(Mailer) as DevelopmentMailer;

/** The token of the newest mail of `kind` to `to` (waits for the background delivery). */
export async function mailedToken(app: INestApplication, to: string, kind: MailMessage['kind']): Promise<string> {
  for (let i = 0; i < 50; i++) {
    const mail = mailer(app).last(to, kind);
    const token = mail?.text.match(/token=([A-Za-z0-9_-]{43})/)?.[1];
    if (token) return token;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no ${kind} mail to ${to}`);
}

/** Every row the lifecycle flows may touch, as the owner sees them: a refused attempt must leave it equal. */
export async function snapshot(app: INestApplication) {
  const users = await asOwner(app, 'SELECT id, email, password_hash, email_verified_at, disabled_at, scopes FROM users ORDER BY id');
  const tokens = await asOwner(app, 'SELECT token_hash, purpose, subject, used_at, expires_at FROM zt_account_tokens ORDER BY token_hash');
  const sessions = await asOwner(app, 'SELECT id, subject, revoked_at FROM zt_sessions ORDER BY id');
  const refresh = await asOwner(app, 'SELECT id, used_at FROM zt_refresh_tokens ORDER BY id');
  return JSON.stringify({ users, tokens, sessions, refresh });
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

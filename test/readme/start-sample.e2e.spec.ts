import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * The README's first command, `npm start`: build the sample and serve it on the embedded database. The
 * library is already built by `npm test` (rebuilding it here would pull dist/ from under the other
 * suites), so this runs the rest of the script: `npm run build:sample && node sample/dist/main.js`. The
 * database is in memory so the test leaves nothing in sample/.data. Then the README's first curl lines.
 */
describe('README: npm start serves the sample on the embedded database', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill('SIGTERM');
  });

  it('answers 401 with the security headers, registers, logs in, and refuses an extra body field', async () => {
    execFileSync('npm', ['run', 'build:sample'], { cwd: root, stdio: 'ignore' });
    const port = await freePort();
    child = spawn(process.execPath, ['sample/dist/main.js'], { cwd: root, env: { ...process.env, PORT: String(port), ZT_DB: 'memory', NODE_ENV: 'development' }, stdio: 'ignore' });
    const base = `http://127.0.0.1:${port}`;
    let notes: Response | undefined;
    for (let attempt = 0; attempt < 150 && !notes; attempt++) {
      notes = await fetch(`${base}/notes`).catch(() => undefined);
      if (!notes) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(notes?.status).toBe(401);
    expect(notes?.headers.get('content-security-policy')).toContain("default-src 'none'");
    const json = { 'content-type': 'application/json' };
    const credentials = JSON.stringify({ email: 'a@example.com', password: 'correct horse battery' });
    expect((await fetch(`${base}/auth/register`, { method: 'POST', headers: json, body: credentials })).status).toBe(201);
    const login = await fetch(`${base}/auth/login`, { method: 'POST', headers: json, body: credentials });
    const { accessToken } = (await login.json()) as { accessToken: string };
    const auth = { ...json, authorization: `Bearer ${accessToken}` };
    const extra = await fetch(`${base}/notes`, { method: 'POST', headers: auth, body: JSON.stringify({ title: 'hello', body: 'world', ownerId: 'someone-else' }) });
    expect(await extra.json()).toEqual({ statusCode: 400, message: ['property ownerId should not exist'], error: 'Bad Request' });
    expect((await fetch(`${base}/notes`, { method: 'POST', headers: auth, body: JSON.stringify({ title: 'hello', body: 'world' }) })).status).toBe(201);
  }, 120_000);
});

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtPackage } from '../package/built-package.js';
import { bashBlocksOf, root } from './readme-commands.js';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * What a reader fills in by hand, and only that: the port the test's sample listens on, the code of the
 * authenticator just enrolled, the token of the last mail, the API key just created. Each one must be in
 * the README (a placeholder that moved would otherwise leave the command unrun).
 */
function fillIn(block: string, port: number, placeholders: Array<[string, string]>): string {
  let script = block.replaceAll('localhost:3000', `localhost:${port}`);
  for (const [placeholder, value] of placeholders) {
    expect(script, `README placeholder ${placeholder}`).toContain(placeholder);
    script = script.replaceAll(placeholder, value);
  }
  return script;
}

/**
 * The README's "Try the sample" walk-through, run as written by bash and curl against the sample: the
 * first requests, the whole session flow (refresh rotation, reuse detection, MFA, logout), the account
 * lifecycle with its proof-of-work script, and the API-key example of "Machine clients and API keys".
 * `npm start` is `npm run build && npm run build:sample && node sample/dist/main.js`: the same builds are
 * made into a folder of the test's own (dist/ and sample/dist/ stay as they are for the other suites), and
 * the sample is served from there. The database is in memory (nothing left in sample/.data), and the mails go to an SMTP server of the
 * test's own (the development mailer writes them to sample/.data/mail/ only with the on-disk database).
 */
describe('README: Try the sample, command by command', () => {
  const work = mkdtempSync(join(tmpdir(), 'zt-readme-sample-'));
  const transcript = join(work, 'transcript');
  const mailTokens = join(work, 'mail-tokens');
  const used = join(work, 'used-tokens');
  let child: ChildProcess | undefined;
  let smtp: SMTPServer | undefined;
  let port = 0;
  let sampleLog = '';
  let base = '';
  const blocks = bashBlocksOf('## Try the sample');
  const machineBlocks = bashBlocksOf('### Machine clients and API keys');

  beforeAll(async () => {
    for (const file of [transcript, mailTokens, used]) writeFileSync(file, '');
    // The mails' links, decoded from quoted-printable, one token a line.
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onData(stream, _session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          // The parts as a mail client shows them: quoted-printable and base64 bodies decoded.
          const texts = [raw.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)))];
          for (const part of raw.matchAll(/Content-Transfer-Encoding: base64\r?\n(?:[^\r\n]+\r?\n)*\r?\n([A-Za-z0-9+/=\r\n]+)/gi)) texts.push(Buffer.from(part[1].replace(/\s/g, ''), 'base64').toString('utf8'));
          const tokens = new Set(texts.flatMap((text) => [...text.matchAll(/\?token=([A-Za-z0-9_.~-]+)/g)].map((match) => match[1])));
          for (const token of tokens) appendFileSync(mailTokens, `${token}\n`);
          callback();
        });
      },
    });
    const smtpPort = await freePort();
    await new Promise<void>((resolve) => smtp!.listen(smtpPort, '127.0.0.1', resolve));
    // The sample as `npm start` builds it, from the working tree, into the test's own folder: the package
    // built by built-package.ts (never dist/), the sample compiled beside it (never sample/dist/).
    const built = builtPackage();
    const modules = join(work, 'node_modules');
    mkdirSync(modules);
    for (const name of readdirSync(join(root, 'node_modules'))) {
      if (name !== 'nestjs-zero-trust' && name !== '.bin') symlinkSync(join(root, 'node_modules', name), join(modules, name));
    }
    symlinkSync(built, join(modules, 'nestjs-zero-trust'));
    writeFileSync(join(work, 'package.json'), JSON.stringify({ name: 'sample', type: 'module' }));
    // Emitted even with type errors (another engineer's half-done file must not stop this test), as built-package.ts does.
    spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'sample/tsconfig.json', '--outDir', join(work, 'sample/dist')], { cwd: root, stdio: 'ignore' });
    port = await freePort();
    child = spawn(process.execPath, [join(work, 'sample/dist/main.js')], {
      cwd: work,
      env: {
        ...process.env,
        PORT: String(port),
        ZT_DB: 'memory',
        NODE_ENV: 'development',
        ZT_SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
        ZT_SMTP_REQUIRE_TLS: 'false',
        // The walk-through makes more auth requests a minute than the sample's default budget of 10, and
        // three proofs of work: both settings are the documented variables, lowered for a test run.
        ZT_AUTH_RATE_LIMIT: '1000',
        ZT_POW_DIFFICULTY: '5000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (chunk: Buffer) => (sampleLog = `${sampleLog}${chunk}`.slice(-8000)));
    child.stderr!.on('data', (chunk: Buffer) => (sampleLog = `${sampleLog}${chunk}`.slice(-8000)));
    base = `http://127.0.0.1:${port}`;
    for (let attempt = 0; attempt < 300; attempt++) {
      if (await call('GET', '/health').catch(() => undefined)) return;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`the sample did not answer: ${sampleLog}`);
  }, 240_000);

  afterAll(async () => {
    // A sample that died on the way is a failure of its own: its last words say why.
    if (child && child.exitCode !== null) console.error(`the sample exited (${child.exitCode}):\n${sampleLog}`);
    child?.kill('SIGTERM');
    await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
    rmSync(work, { recursive: true, force: true });
  });

  /**
   * Runs a README block with bash in the repository (node finds altcha-lib there). curl is wrapped to
   * keep a transcript, from which the helpers read what a reader would copy from the screen.
   */
  async function run(script: string, env: Record<string, string> = {}): Promise<string> {
    const prelude = `
curl() { command curl "$@" | tee -a "$ZT_TRANSCRIPT"; }
zt_totp() {  # the current code of the secret the last enrolment printed (RFC 6238: SHA-1, 30 s, 6 digits)
  node -e '
    const { createHmac } = require("node:crypto");
    const text = require("node:fs").readFileSync(process.env.ZT_TRANSCRIPT, "utf8");
    const secret = [...text.matchAll(/"secret":"([A-Z2-7]+)"/g)].pop()[1];
    let bits = ""; for (const c of secret) bits += "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".indexOf(c).toString(2).padStart(5, "0");
    const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
    const counter = Buffer.alloc(8); counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30000)));
    const d = createHmac("sha1", key).update(counter).digest(); const o = d[d.length - 1] & 15;
    process.stdout.write(String((d.readUInt32BE(o) & 0x7fffffff) % 1e6).padStart(6, "0"));'
}
zt_mail_token() {  # the token of the newest mail not used yet (waits for it: mails leave after the 202)
  for _ in $(seq 100); do
    t=$(grep -vxF -f "$ZT_USED" "$ZT_MAIL_TOKENS" | tail -1)
    if [ -n "$t" ]; then echo "$t" >> "$ZT_USED"; printf '%s' "$t"; return; fi
    sleep 0.1
  done
}
zt_api_key() { grep -o '"key":"ztk_[^"]*"' "$ZT_TRANSCRIPT" | tail -1 | cut -d'"' -f4; }
`;
    // Asynchronous: the test's SMTP server must keep answering the sample while the script runs.
    const bash = spawn('bash', ['-c', `${prelude}\n${script}`], {
      cwd: root,
      env: { ...process.env, ...env, ZT_TRANSCRIPT: transcript, ZT_MAIL_TOKENS: mailTokens, ZT_USED: used },
      timeout: 120_000,
    });
    let stdout = '';
    let stderr = '';
    bash.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    bash.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    const status = await new Promise<number | null>((resolve) => bash.on('close', resolve));
    // stderr is not checked: curl -i prints its progress meter there when its output is not a terminal.
    expect(status, stderr).toBe(0);
    return stdout;
  }

  /** One request on a connection of its own (a pooled one may be closed by the sample while a script runs). */
  function call(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; json: unknown }> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
      if (token) headers.authorization = `Bearer ${token}`;
      const req = httpRequest(`${base}${path}`, { method, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : undefined });
        });
      });
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  async function notesOf(email: string, password: string): Promise<unknown[]> {
    const { accessToken } = (await call('POST', '/auth/login', { email, password })).json as { accessToken: string };
    return (await call('GET', '/notes', undefined, accessToken)).json as unknown[];
  }

  it('finds the three blocks of the walk-through and the API-key example', () => {
    expect(blocks).toHaveLength(3);
    expect(machineBlocks).toHaveLength(2);
  });

  it('first requests: 401 with the headers, register, login, an extra field refused (nothing stored), a note created', async () => {
    // `npm ci && npm start` is the sample the test started (see above); every other line runs as written.
    expect(blocks[0].split('\n')[0]).toBe('npm ci && npm start');
    const output = await run(fillIn(blocks[0].split('\n').slice(1).join('\n'), port, []));
    expect(output).toMatch(/^HTTP\/1\.1 401/m);
    expect(output).toMatch(/^content-security-policy: default-src 'none'/im);
    expect(output).toMatch(/^strict-transport-security: max-age=/im);
    expect(output).toContain('{"statusCode":400,"message":["property ownerId should not exist"],"error":"Bad Request"}');
    expect(output).toMatch(/"title":"hello","body":"world"/);
    const notes = await notesOf('a@example.com', 'correct horse battery');
    expect(notes).toHaveLength(1);
    expect(notes[0]).not.toHaveProperty('ownerId', 'someone-else');
  }, 120_000);

  it('the session flow: rotation, reuse revokes the session, MFA enrolment, logout', async () => {
    const script = fillIn(blocks[1], port, [[`-d '{"code":"123456"}'`, `-d "{\\"code\\":\\"$(zt_totp)\\"}"`]]);
    const output = await run(`${script}\necho\necho "ZT_NEW=$NEW"\necho "ZT_AT=$AT"`);
    expect(output).toMatch(/HTTP\/1\.1 401/);
    expect(output).toMatch(/\{"otpauthUri":"otpauth:\/\/totp\/[^"]+","secret":"[A-Z2-7]+"/);
    expect(output).toMatch(/\{"recoveryCodes":\["[a-z0-9]{4}-[a-z0-9]{4}/);
    const newPair = JSON.parse(/^ZT_NEW=(.*)$/m.exec(output)![1]) as { accessToken: string };
    const at = /^ZT_AT=(.*)$/m.exec(output)![1];
    // The reuse revoked the session: the pair issued before it is dead too; after logout, $AT gets 401.
    expect((await call('GET', '/notes', undefined, newPair.accessToken)).status).toBe(401);
    expect((await call('GET', '/notes', undefined, at)).status).toBe(401);
    // "from now on login needs otp"
    expect((await call('POST', '/auth/login', { email: 'a@example.com', password: 'correct horse battery' })).status).toBe(401);
  }, 120_000);

  it('the account lifecycle: proof of work, a confirmed address, a password reset, a common password refused', async () => {
    const output = await run(fillIn(blocks[2], port, [['<token from the mail>', `'"$(zt_mail_token)"'`]]));
    expect(output.match(/"status":"pending_verification"/g), output).toHaveLength(1);
    expect(output.match(/HTTP\/1\.1 204/g), `${output}\n--- sample log:\n${sampleLog}`).toHaveLength(2);
    expect(output).toMatch(/password is too common/);
    expect(output).toMatch(/\{"statusCode":400,"message":\["password is too common: it is in the lists of passwords attackers try first; [^"]*"\],"error":"Bad Request"\}/);
    // The reset took: the new password signs in, the old one does not; c@example.com was never created.
    const signIn = (password: string) => call('POST', '/auth/login', { email: 'b@example.com', password });
    expect((await signIn('staple mountain orange river')).status).toBe(401);
    expect((await signIn('another long passphrase')).status).toBe(200);
  }, 180_000);

  it('Machine clients and API keys: an API key created with a user token, then used on the API-key route', async () => {
    const credentials = { email: 'd@example.com', password: 'correct horse battery' };
    expect((await call('POST', '/auth/register', credentials)).status).toBe(201);
    const { accessToken } = (await call('POST', '/auth/login', credentials)).json as { accessToken: string };
    const output = await run(fillIn(machineBlocks[1], port, [['ztk_3f9c…_…"', '$(zt_api_key)"']]), { TOKEN: accessToken });
    expect(output).toMatch(/\{"id":"[0-9a-f]+","key":"ztk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}","expiresAt":"[^"]+"/);
    expect(output).toMatch(/\{"owner":"[^"]+","key":"[0-9a-f]+","scopes":\["integrations:whoami"\]\}/);
  }, 120_000);
});

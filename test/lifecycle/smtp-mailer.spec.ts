/**
 * Issue 20: the SMTP adapter of the mailer port against a real SMTP server on the loopback
 * (smtp-server), with authentication; and its refusal to send a link in clear when the server offers
 * no STARTTLS (the default, since a mailed link is a credential).
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SmtpMailer } from '../../lib/index.js';

interface Received {
  from: string;
  to: string[];
  user?: string;
  data: string;
}

describe('issue 20: SmtpMailer (nodemailer) against a local SMTP server', () => {
  const received: Received[] = [];
  let server: SMTPServer;
  let port: number;

  beforeAll(async () => {
    server = new SMTPServer({
      // No TLS on this test server: the mailer must be told so (requireTLS: false) to use it.
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      onAuth(auth, _session, callback) {
        if (auth.username === 'mailer' && auth.password === 'mailer-secret') return callback(null, { user: auth.username });
        return callback(new Error('Invalid username or password'));
      },
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          received.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
            user: session.user as string | undefined,
            data: Buffer.concat(chunks).toString('utf8'),
          });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('delivers a verification mail, authenticated, with its kind in a header', async () => {
    const mailer = new SmtpMailer({ host: '127.0.0.1', port, requireTLS: false, auth: { user: 'mailer', pass: 'mailer-secret' }, from: 'no-reply@example.com' });
    await mailer.send({ kind: 'verify_address', to: 'alice@example.com', subject: 'Confirm your address', text: 'Open https://app.example/verify?token=abc' });
    await mailer.close();
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ from: 'no-reply@example.com', to: ['alice@example.com'], user: 'mailer' });
    expect(received[0].data).toMatch(/^Subject: Confirm your address/m);
    expect(received[0].data).toMatch(/^X-Mail-Kind: verify_address/m);
    expect(received[0].data).toContain('https://app.example/verify?token=abc');
  });

  it('fails (to the caller, never silently) on wrong credentials', async () => {
    const mailer = new SmtpMailer({ host: '127.0.0.1', port, requireTLS: false, auth: { user: 'mailer', pass: 'wrong' }, from: 'no-reply@example.com' });
    await expect(mailer.send({ kind: 'password_reset', to: 'bob@example.com', subject: 'Reset', text: 'x' })).rejects.toThrow();
    await mailer.close();
    expect(received.filter((mail) => mail.to.includes('bob@example.com'))).toEqual([]);
  });

  it('by default refuses to send a link over a connection that cannot be upgraded to TLS', async () => {
    const mailer = new SmtpMailer({ host: '127.0.0.1', port, auth: { user: 'mailer', pass: 'mailer-secret' }, from: 'no-reply@example.com' });
    await expect(mailer.send({ kind: 'password_reset', to: 'carol@example.com', subject: 'Reset', text: 'token' })).rejects.toThrow();
    await mailer.close();
    expect(received.filter((mail) => mail.to.includes('carol@example.com'))).toEqual([]);
  });
});

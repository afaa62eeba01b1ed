import { Logger } from '@nestjs/common';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';
import type { MailMessage } from './mailer.port.js';
import { Mailer } from './mailer.port.js';

export interface SmtpMailerOptions {
  host: string;
  port: number;
  /** TLS from the first byte (port 465). Default false. */
  secure?: boolean;
  /** Refuse to send unless the server upgrades with STARTTLS. Default true: mailed links are credentials. */
  requireTLS?: boolean;
  auth?: { user: string; pass: string };
  /** The sender address. */
  from: string;
  /** Passed to Node's TLS (a private CA...). Certificates are always verified. */
  tls?: { ca?: string | Buffer; servername?: string };
}

type Transport = { sendMail(message: Record<string, unknown>): Promise<unknown>; close(): void };

/**
 * SMTP through nodemailer (an optional peer dependency, loaded at the first mail). A link in a mail is
 * a credential (verification, reset): STARTTLS is required unless `requireTLS: false` is said, and
 * certificates are checked. Sending failures are thrown to the caller (the flows log them; they never
 * reach the client, whose answer must not depend on delivery).
 */
export class SmtpMailer extends Mailer {
  private readonly logger = new Logger('SmtpMailer');
  private transport?: Promise<Transport>;

  constructor(private readonly options: SmtpMailerOptions) {
    super();
  }

  async send(message: MailMessage): Promise<void> {
    const transport = await (this.transport ??= this.connect());
    await transport.sendMail({ from: this.options.from, to: message.to, subject: message.subject, text: message.text, headers: { 'X-Mail-Kind': message.kind } });
    this.logger.debug(`sent ${message.kind} mail`);
  }

  /** Closes the pooled connection (at shutdown). */
  async close(): Promise<void> {
    if (this.transport) (await this.transport).close();
  }

  private async connect(): Promise<Transport> {
    let nodemailer: { createTransport(options: Record<string, unknown>): Transport };
    try {
      nodemailer = ((await import('nodemailer')) as unknown as { default: typeof nodemailer }).default;
    } catch {
      throw new ZeroTrustConfigurationError('SmtpMailer sends through nodemailer: install it (npm i nodemailer).');
    }
    const { host, port, secure = false, requireTLS = true, auth, tls } = this.options;
    return nodemailer.createTransport({ host, port, secure, requireTLS, ...(auth ? { auth } : {}), tls: { ...tls, rejectUnauthorized: true } });
  }
}

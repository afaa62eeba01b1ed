import { Injectable, Logger } from '@nestjs/common';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MailMessage } from './mailer.port.js';
import { Mailer } from './mailer.port.js';

const KEPT = 100;

/**
 * Development only (refused in production): each mail is logged, kept in memory (the last 100, for
 * tests: `mailer.sent`) and, with a `directory`, written there as one `.txt` file per mail so links can
 * be opened by hand. Nothing leaves the machine.
 */
@Injectable()
export class DevelopmentMailer extends Mailer {
  private readonly logger = new Logger('DevelopmentMailer');
  private readonly kept: MailMessage[] = [];

  constructor(private readonly directory?: string) {
    super();
  }

  /** The last mails sent, oldest first. */
  get sent(): readonly MailMessage[] {
    return this.kept;
  }

  /** The newest mail to `to` (optionally of one kind). */
  last(to: string, kind?: MailMessage['kind']): MailMessage | undefined {
    return [...this.kept].reverse().find((mail) => mail.to === to && (!kind || mail.kind === kind));
  }

  async send(message: MailMessage): Promise<void> {
    this.kept.push(message);
    if (this.kept.length > KEPT) this.kept.shift();
    this.logger.log(`mail "${message.subject}" (${message.kind}) to ${message.to}${this.directory ? ` written to ${this.directory}` : ''}`);
    if (!this.directory) return;
    await mkdir(this.directory, { recursive: true, mode: 0o700 });
    const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-${message.kind}.txt`;
    await writeFile(join(this.directory, name), `To: ${message.to}\nSubject: ${message.subject}\n\n${message.text}\n`, { mode: 0o600 });
  }
}

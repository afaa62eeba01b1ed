/** Which flow a mail belongs to: a development mailer files it under this name, a test reads it. */
export type MailKind = 'verify_address' | 'registration_attempt' | 'password_reset' | 'password_reset_completed';

export interface MailMessage {
  readonly kind: MailKind;
  readonly to: string;
  readonly subject: string;
  readonly text: string;
}

/**
 * The mailer port: how the lifecycle flows send mail. `DevelopmentMailer` (the log and, optionally, a
 * folder; refused in production) and `SmtpMailer` (nodemailer) are the module's adapters; an app may
 * give its own (a provider's HTTP API). `send` may take its time: the flows never await it inside a
 * request, so delivery time cannot tell a known address from an unknown one.
 */
export abstract class Mailer {
  abstract send(message: MailMessage): Promise<void>;
}

export function isMailer(value: unknown): value is Mailer {
  return value !== null && typeof value === 'object' && typeof (value as Mailer).send === 'function';
}

import { DevelopmentMailer, type Mailer, SmtpMailer } from 'nestjs-zero-trust';
import { join } from 'node:path';
import { DEFAULT_PGLITE_DIR } from '../development-secrets.js';

/**
 * `ZT_SMTP_URL` (`smtp://user:password@host:587`; `smtps://` for TLS from the first byte) sends through
 * SMTP with STARTTLS required (`ZT_SMTP_REQUIRE_TLS=false` only for a local test server), from
 * `ZT_MAIL_FROM`. Unset: the development mailer logs each mail and, with PGlite's on-disk data, writes it
 * under `mail/` there (the module refuses it in production: set ZT_SMTP_URL).
 */
export function accountMailer(env: NodeJS.ProcessEnv = process.env): Mailer {
  const from = env.ZT_MAIL_FROM ?? 'no-reply@localhost';
  if (env.ZT_SMTP_URL) {
    const url = new URL(env.ZT_SMTP_URL);
    const secure = url.protocol === 'smtps:';
    return new SmtpMailer({
      host: url.hostname,
      port: Number(url.port || (secure ? 465 : 587)),
      secure,
      requireTLS: env.ZT_SMTP_REQUIRE_TLS !== 'false',
      ...(url.username ? { auth: { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } } : {}),
      from,
    });
  }
  const dataDir = env.PGLITE_DATA_DIR || DEFAULT_PGLITE_DIR;
  const onDisk = !env.DATABASE_URL && !dataDir.includes('://');
  return new DevelopmentMailer(onDisk ? join(dataDir, 'mail') : undefined);
}

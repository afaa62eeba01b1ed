import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';
import { type AccountRegistry, isAccountRegistry } from './account-registry.port.js';
import { AccountTokenRepository } from './account-token.repository.js';
import { DevelopmentMailer } from './development.mailer.js';
import { LIFECYCLE_CONFIG } from './lifecycle.internal-constants.js';
import type { LifecycleConfig } from './lifecycle.options.js';
import { isMailer, type MailMessage, type Mailer } from './mailer.port.js';

/**
 * The app's side of the lifecycle flows, found once at boot: its `AccountRegistry` and its `Mailer`
 * (default `DevelopmentMailer`, refused in production). Mail is sent outside the request: `deliver`
 * never awaits delivery, so neither the answer nor its timing depends on whether a mail went out.
 */
@Injectable()
export class LifecyclePorts implements OnApplicationBootstrap {
  private readonly logger = new Logger('ZeroTrustLifecycle');
  private resolvedRegistry?: AccountRegistry;
  private resolvedMailer?: Mailer;

  constructor(
    @Inject(LIFECYCLE_CONFIG) private readonly config: LifecycleConfig | false,
    private readonly moduleRef: ModuleRef,
    private readonly tokens: AccountTokenRepository,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.config === false) return;
    this.registry();
    this.mailer();
    await this.tokens.assertTable();
  }

  get settings(): LifecycleConfig {
    if (this.config === false) throw new ZeroTrustConfigurationError('the lifecycle services need the `lifecycle` option (`lifecycle: { registry, links }`).');
    return this.config;
  }

  registry(): AccountRegistry {
    return (this.resolvedRegistry ??= this.resolve(this.settings.registry, isAccountRegistry, 'lifecycle.registry', 'findByLogin, findBySubject, create, markVerified and setPassword'));
  }

  mailer(): Mailer {
    if (this.resolvedMailer) return this.resolvedMailer;
    const given = this.settings.mailer;
    if (given === undefined) {
      if (this.settings.production) {
        throw new ZeroTrustConfigurationError('lifecycle.mailer is required in production: the development mailer only logs. Give an SmtpMailer (`new SmtpMailer({ host, port, from, auth })`) or your own Mailer.');
      }
      this.logger.warn('lifecycle.mailer is not set: mails are only logged (DevelopmentMailer). Set one before production.');
      return (this.resolvedMailer = new DevelopmentMailer());
    }
    const mailer = this.resolve(given, isMailer, 'lifecycle.mailer', 'send');
    if (mailer instanceof DevelopmentMailer && this.settings.production) {
      throw new ZeroTrustConfigurationError('lifecycle.mailer is a DevelopmentMailer in production: mails would never leave the log. Give an SmtpMailer or your own Mailer.');
    }
    return (this.resolvedMailer = mailer);
  }

  /** Sends in the background; a failure is logged (without the address or the link), never thrown into the request. */
  deliver(message: MailMessage): void {
    let sending: Promise<void>;
    try {
      sending = this.mailer().send(message);
    } catch (error) {
      sending = Promise.reject(error);
    }
    sending.catch((error: unknown) => this.logger.error(`a ${message.kind} mail could not be sent: ${(error as Error)?.message ?? error}`));
  }

  /**
   * Runs `work` and answers no sooner than `responseFloor` after it began (wall time: this is about what
   * a client measures). Only the answer that is the same for known and unknown addresses is padded.
   */
  async withResponseFloor<T>(work: () => Promise<T>): Promise<T> {
    const started = performance.now();
    const result = await work();
    const remaining = this.settings.responseFloor * 1000 - (performance.now() - started);
    if (remaining > 0) await new Promise((resolve) => setTimeout(resolve, remaining));
    return result;
  }

  link(kind: 'verifyAddress' | 'resetPassword', token: string): string {
    return `${this.settings.links[kind]}${encodeURIComponent(token)}`;
  }

  private resolve<T>(given: unknown, isPort: (value: unknown) => value is T, option: string, methods: string): T {
    if (isPort(given)) return given;
    let found: unknown;
    try {
      found = this.moduleRef.get(given as never, { strict: false });
    } catch {
      found = undefined;
    }
    if (!isPort(found)) {
      throw new ZeroTrustConfigurationError(
        `${option} names ${typeof given === 'function' ? given.name : String(given)}, but no provider of the app answers to it with ${methods}: add it to a module's providers, or pass an object.`,
      );
    }
    return found;
  }
}

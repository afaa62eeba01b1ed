import { createHash } from 'node:crypto';
import type { AuditService } from '../audit/audit.service.js';
import type { ZeroTrustStore } from '../store/zero-trust-store.js';
import type { AuthConfig } from './auth.options.js';

/** A block without a duration lasts a year: long enough to mean "until lifted", short enough for a store TTL. */
const DEFAULT_BLOCK_SECONDS = 365 * 86_400;
const MAX_BLOCK_SECONDS = 10 * 365 * 86_400;
const MAX_SUBJECT_LENGTH = 1024;

/**
 * The deny list of external principals, per (issuer, subject): how an operator cuts off a user of an
 * identity provider (a compromised account, a leaver) before the provider does, and before the tokens
 * it already issued expire. Our own users are cut off through their sessions instead
 * (`SessionService.revokeAll`), which also ends their refresh tokens.
 *
 * Kept in the store, so a block made on one instance holds on every instance sharing it (Redis), at
 * once: `AccessTokenVerifier` asks on every request of an external principal, cached tokens included.
 * When the store cannot answer, `onStoreFailure.auth` decides (closed by default: 503).
 */
export class PrincipalBlocklist {
  constructor(
    private readonly store: ZeroTrustStore,
    private readonly config: AuthConfig,
    private readonly audit: AuditService,
  ) {}

  /**
   * Refuses every token of `subject` (the principal's `subject`, after the issuer's claims mapping) from
   * `issuer` for `seconds` (default a year), from the next request on.
   */
  async block(issuer: string, subject: string, seconds: number = DEFAULT_BLOCK_SECONDS): Promise<void> {
    this.check(issuer, subject);
    if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0 || seconds > MAX_BLOCK_SECONDS) {
      throw new RangeError(`seconds must be a number of seconds from 0 (excluded) to ${MAX_BLOCK_SECONDS} (got ${String(seconds)}).`);
    }
    await this.store.set(this.key(issuer, subject), seconds * 1000);
    this.audit.publish({ type: 'principal.blocked', outcome: 'success', principal: { subject: `${issuer}#${subject}` }, details: { seconds } });
  }

  /** Lifts a block; tokens of the principal are accepted again from the next request on. */
  async unblock(issuer: string, subject: string): Promise<void> {
    this.check(issuer, subject);
    await this.store.delete(this.key(issuer, subject));
    this.audit.publish({ type: 'principal.unblocked', outcome: 'success', principal: { subject: `${issuer}#${subject}` } });
  }

  /** Whether the principal is blocked now. One store round trip; store errors propagate. */
  async isBlocked(issuer: string, subject: string): Promise<boolean> {
    return (await this.store.ttl(this.key(issuer, subject))) > 0;
  }

  /** Hashed: a subject is attacker-chosen text of any length, and the store keeps no identities in clear. */
  private key(issuer: string, subject: string): string {
    return `principal-block:${createHash('sha256').update(issuer).update('\u0000').update(subject).digest('hex')}`;
  }

  private check(issuer: string, subject: string): void {
    if (issuer === this.config.issuer) {
      throw new Error(
        `PrincipalBlocklist holds external principals only; "${issuer}" is this app's own issuer. Cut one of its users off ` +
          'with SessionService.revokeAll(subject, reason): that also ends its refresh tokens.',
      );
    }
    if (!this.config.externalIssuers.some((external) => external.issuer === issuer)) {
      const known = this.config.externalIssuers.map((external) => `"${external.issuer}"`).join(', ') || 'none';
      throw new Error(`"${issuer}" is not a configured external issuer (configured: ${known}).`);
    }
    if (typeof subject !== 'string' || subject === '' || subject.length > MAX_SUBJECT_LENGTH) {
      throw new TypeError(`subject must be a string of 1 to ${MAX_SUBJECT_LENGTH} characters.`);
    }
  }
}

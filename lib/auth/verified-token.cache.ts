import type { ZeroTrustPrincipal } from '../core/principal.interface.js';

/**
 * Tokens whose signature and claims were verified, by their exact bytes: a token seen again needs no
 * cryptography (the same bytes carry the same claims under the same keys). Expiry and session
 * revocation are still checked on every hit, by the strategy. Bounded; the oldest entry goes first.
 */
export class VerifiedTokenCache {
  private readonly entries = new Map<string, ZeroTrustPrincipal>();

  constructor(private readonly maxEntries = 10_000) {}

  get(token: string): ZeroTrustPrincipal | undefined {
    return this.entries.get(token);
  }

  set(token: string, principal: ZeroTrustPrincipal): void {
    if (this.maxEntries === 0) return;
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(token, principal);
  }

  delete(token: string): void {
    this.entries.delete(token);
  }
}

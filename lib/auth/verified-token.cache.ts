import type { ZeroTrustPrincipal } from '../core/principal.interface.js';

/**
 * The key a token's signature was verified with, and the question the verifier would ask of it now:
 * is it still in this app's key ring, or still published by its issuer in a JWKS within its max
 * staleness? Answered in memory, without I/O.
 */
export interface KeyBinding {
  stillTrusted(): boolean;
}

interface Entry {
  /** The whole token: a hit needs these exact bytes, the map key is only its tail. */
  readonly token: string;
  readonly principal: ZeroTrustPrincipal;
  readonly key: KeyBinding;
}

/**
 * The map key: the token's last 43 characters (256 bits of its signature, the whole of an HS256 one).
 * A token fresh from the Authorization header is a new string whose hash V8 has not computed yet, and
 * hashing a whole RS256 token (500+ characters) on every request costs more than the rest of a hit;
 * the full token is then compared once, byte for byte. Two valid tokens sharing a tail would only
 * evict each other (a verification more), and a token that is not the exact one cached never hits.
 */
const KEY_CHARS = 43;
const keyOf = (token: string): string => (token.length > KEY_CHARS ? token.slice(token.length - KEY_CHARS) : token);

/**
 * Tokens whose signature and claims were verified, by their exact bytes: a token seen again needs no
 * cryptography (the same bytes carry the same claims under the same key). What a hit still checks:
 *
 * - the key: an entry lives only as long as the key that verified it is trusted (issue 13.8). A key
 *   removed from the key ring or from its issuer's JWKS, or an issuer whose keys are past their max
 *   staleness (`cacheTtl` since the last fetch, e.g. while the provider is down), drops the entry, and
 *   the token goes down the full path, which refetches and fails closed like for a token never seen.
 *   Without this, "fail closed" would hold only for new tokens: one accepted once would live to `exp`.
 * - expiry, session revocation and the principal deny list, on every request, by the strategy
 *   (`AccessTokenVerifier.assertStillValid`).
 *
 * Nothing else could change the answer: claims are covered by the signature, and the policy applied to
 * them (issuer mappings, audiences, lifetimes) is fixed at boot. Bounded to `maxEntries`; past it the
 * oldest entry goes first (an attacker filling it with its own valid tokens only costs others a
 * verification). Per process: nothing here is shared between instances.
 */
export class VerifiedTokenCache {
  private readonly entries = new Map<string, Entry>();
  /**
   * Insertion order, for eviction: a ring of `maxEntries` slots, the next to overwrite at `next`. A
   * slot whose entry was replaced or deleted since no longer matches the map and is skipped. (Evicting
   * with `entries.keys().next()` walked every deleted slot V8's map keeps until it rehashes: 8 % of a
   * cold verification's CPU once the cache was full, issue 16.)
   */
  private readonly order: Array<{ readonly mapKey: string; readonly entry: Entry } | undefined>;
  private next = 0;

  constructor(private readonly maxEntries = 10_000) {
    this.order = new Array(Math.max(0, maxEntries));
  }

  get(token: string): ZeroTrustPrincipal | undefined {
    const key = keyOf(token);
    const entry = this.entries.get(key);
    if (!entry || entry.token !== token) return undefined;
    if (!entry.key.stillTrusted()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.principal;
  }

  set(token: string, principal: ZeroTrustPrincipal, key: KeyBinding): void {
    if (this.maxEntries === 0) return;
    const mapKey = keyOf(token);
    const entry: Entry = { token, principal, key };
    // The oldest slot's entry leaves, if it is still the one the map holds: at most `maxEntries` live.
    const oldest = this.order[this.next];
    if (oldest !== undefined && this.entries.get(oldest.mapKey) === oldest.entry) this.entries.delete(oldest.mapKey);
    this.order[this.next] = { mapKey, entry };
    this.next = (this.next + 1) % this.maxEntries;
    this.entries.set(mapKey, entry);
  }

  /** Forgets `token` (only that exact token: another one with the same tail keeps its entry). */
  delete(token: string): void {
    const key = keyOf(token);
    if (this.entries.get(key)?.token === token) this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}

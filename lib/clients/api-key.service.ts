import { Inject, Injectable } from '@nestjs/common';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../core/clock.js';
import type { ZeroTrustPrincipal } from '../core/principal.interface.js';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';
import { DataSourceRef } from '../database/data-source.ref.js';
import { ApiKeyRejection } from './api-key-rejection.js';
import { CLIENTS_CONFIG } from './clients.internal-constants.js';
import type { ClientsConfig } from './clients.options.js';
import { rows } from '../database/query-rows.js';

/** The `issuer` of API-key principals: not a token issuer, so no token of any issuer can pose as a key. */
export const API_KEY_ISSUER = 'urn:nestjs-zero-trust:api-key';

export interface NewApiKey {
  /** What the key is for, shown to operators ("billing export"). */
  name: string;
  /** Who answers for the key: its principal's `ownerId`, so ownership rules apply to what the key creates. */
  owner: string;
  /** What the key may do; `@ApiKeyAuth('reports:read')` routes check them. Default none. */
  scopes?: readonly string[];
  /** Seconds until the key expires. Default: never (set one: a key that never expires is a key nobody rotates). */
  expiresIn?: number;
}

export interface CreatedApiKey {
  /** The public part: safe to log, list and show. */
  id: string;
  /** The whole key, `<prefix>_<id>_<secret>`: shown once, never stored (only the secret's SHA-256 is). */
  key: string;
  expiresAt?: Date;
}

export interface ApiKeyRecord {
  id: string;
  name: string;
  owner: string;
  scopes: string[];
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
}

interface KeyRow {
  id: string;
  owner: string;
  name: string;
  scopes: string[];
  secret_hash: string;
  expires_at: Date | null;
  expired: boolean;
  revoked: boolean;
}

/** Compared against when the id is unknown, so an unknown key costs the same comparison as a known one. */
const DUMMY_HASH = Buffer.alloc(32);
const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/**
 * API keys for integrations that cannot do OAuth: prefixed (`ztk_…`, so scanners and people recognise
 * a leaked one), shown once, stored as SHA-256 only, scoped, expiring, revocable, with the last use
 * recorded. The key is `<prefix>_<id>_<secret>`: the id finds the row, the secret's hash is compared in
 * constant time (`timingSafeEqual`, also for unknown ids), and revocation is read from the database on
 * every request, so it holds at once on every instance.
 */
@Injectable()
export class ApiKeyService {
  private readonly lastWritten = new Map<string, number>();
  private readonly format: RegExp;

  constructor(
    private readonly dataSources: DataSourceRef,
    @Inject(CLIENTS_CONFIG) private readonly config: ClientsConfig,
    private readonly audit: AuditService,
    private readonly clock: Clock,
  ) {
    const prefix = config.apiKeys ? config.apiKeys.prefix : 'ztk';
    this.format = new RegExp(`^${prefix}_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$`);
  }

  /** Creates a key; the returned `key` is the only copy there will ever be. Audited as `api_key.created`. */
  async create(request: NewApiKey): Promise<CreatedApiKey> {
    const options = this.options();
    if (typeof request.name !== 'string' || request.name.trim() === '' || request.name.length > 200) throw new TypeError('name must be 1-200 characters');
    if (typeof request.owner !== 'string' || request.owner === '') throw new TypeError('owner must be a non-empty string');
    if (request.expiresIn !== undefined && !(Number.isFinite(request.expiresIn) && request.expiresIn > 0)) throw new TypeError('expiresIn must be a positive number of seconds');
    const id = randomBytes(8).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const expiresAt = request.expiresIn === undefined ? undefined : new Date(this.clock.now() + request.expiresIn * 1000);
    const db = await this.dataSources.get();
    await db.query(`INSERT INTO zt_api_keys (id, name, owner, scopes, secret_hash, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`, [
      id,
      request.name,
      request.owner,
      [...(request.scopes ?? [])],
      sha256(secret).toString('hex'),
      expiresAt ?? null,
    ]);
    this.audit.publish({ type: 'api_key.created', outcome: 'success', principal: { subject: request.owner }, details: { apiKeyId: id, scopes: (request.scopes ?? []).join(' ') } });
    return { id, key: `${options.prefix}_${id}_${secret}`, ...(expiresAt ? { expiresAt } : {}) };
  }

  /** Revokes a key at once, on every instance (each request reads it). Audited as `api_key.revoked`. */
  async revoke(id: string, reason = 'revoked'): Promise<boolean> {
    const db = await this.dataSources.get();
    const revoked = await rows<{ owner: string }>(db, `UPDATE zt_api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING owner`, [id]);
    for (const row of revoked) this.audit.publish({ type: 'api_key.revoked', outcome: 'success', reason, principal: { subject: row.owner }, details: { apiKeyId: id } });
    return revoked.length > 0;
  }

  /** The keys of an owner, without anything secret. */
  async list(owner: string): Promise<ApiKeyRecord[]> {
    const db = await this.dataSources.get();
    const found = await rows<{ id: string; name: string; owner: string; scopes: string[]; created_at: Date; expires_at: Date | null; revoked_at: Date | null; last_used_at: Date | null }>(
      db,
      `SELECT id, name, owner, scopes, created_at, expires_at, revoked_at, last_used_at FROM zt_api_keys WHERE owner = $1 ORDER BY created_at`,
      [owner],
    );
    return found.map((row) => ({ id: row.id, name: row.name, owner: row.owner, scopes: row.scopes, createdAt: row.created_at, expiresAt: row.expires_at, revokedAt: row.revoked_at, lastUsedAt: row.last_used_at }));
  }

  /**
   * The principal of a presented key, or an `ApiKeyRejection`. Whether a key is revoked or expired is
   * told (to the audit trail) only once its secret matched: a guesser learns nothing about real keys.
   */
  async authenticate(presented: string): Promise<ZeroTrustPrincipal> {
    this.options();
    const match = this.format.exec(presented);
    if (!match) throw new ApiKeyRejection('malformed_api_key');
    const [, id, secret] = match;
    const db = await this.dataSources.get();
    const [row] = await rows<KeyRow>(
      db,
      `SELECT id, owner, name, scopes, secret_hash, expires_at, (expires_at IS NOT NULL AND expires_at <= now()) AS expired, (revoked_at IS NOT NULL) AS revoked
       FROM zt_api_keys WHERE id = $1`,
      [id],
    );
    const stored = row ? Buffer.from(row.secret_hash, 'hex') : DUMMY_HASH;
    const matches = timingSafeEqual(sha256(secret), stored.length === 32 ? stored : DUMMY_HASH) && row !== undefined;
    if (!matches) throw new ApiKeyRejection('invalid_api_key', id);
    if (row.revoked) throw new ApiKeyRejection('api_key_revoked', id);
    if (row.expired) throw new ApiKeyRejection('api_key_expired', id);
    await this.recordUse(db, id);
    return Object.freeze({
      subject: `api-key:${id}`,
      ownerId: row.owner,
      scopes: Object.freeze([...row.scopes]),
      roles: Object.freeze([]),
      issuer: API_KEY_ISSUER,
      authMethods: Object.freeze(['api_key']),
      expiresAt: row.expires_at ? Math.floor(new Date(row.expires_at).getTime() / 1000) : Number.MAX_SAFE_INTEGER,
      claims: Object.freeze({ api_key_id: id, api_key_name: row.name }),
    });
  }

  /** `last_used_at`, written at most every `lastUsedInterval` seconds per key and instance: a write per request would cost more than the check. */
  private async recordUse(db: Pick<DataSource, 'query'>, id: string): Promise<void> {
    const now = this.clock.now();
    const interval = this.options().lastUsedInterval * 1000;
    const last = this.lastWritten.get(id);
    if (last !== undefined && now - last < interval) return;
    if (this.lastWritten.size >= 10_000) this.lastWritten.delete(this.lastWritten.keys().next().value as string);
    this.lastWritten.set(id, now);
    await db.query(`UPDATE zt_api_keys SET last_used_at = now() WHERE id = $1`, [id]);
  }

  private options() {
    if (!this.config.apiKeys) throw new ZeroTrustConfigurationError('API keys are turned off (`apiKeys: false`).');
    return this.config.apiKeys;
  }
}


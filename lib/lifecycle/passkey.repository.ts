import { Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { DataSourceRef } from '../database/data-source.ref.js';
import { RlsContext } from '../database/rls-context.js';
import { rows } from '../database/query-rows.js';

type Db = Pick<DataSource, 'query'>;

/** One stored WebAuthn credential: its public key, never a secret. */
export interface StoredPasskey {
  readonly id: string;
  readonly subject: string;
  readonly publicKey: Uint8Array;
  readonly counter: number;
  readonly deviceType: 'singleDevice' | 'multiDevice';
  readonly backedUp: boolean;
  readonly transports: string[];
  readonly name: string;
  readonly createdAt: Date;
  readonly lastUsedAt: Date | null;
}

/** A passkey as its owner sees it in a list (no key material). */
export interface PasskeySummary {
  readonly id: string;
  readonly name: string;
  readonly deviceType: 'singleDevice' | 'multiDevice';
  readonly backedUp: boolean;
  readonly createdAt: Date;
  readonly lastUsedAt: Date | null;
}

interface Row {
  credential_id: string;
  subject: string;
  public_key: Buffer;
  counter: string | number;
  device_type: 'singleDevice' | 'multiDevice';
  backed_up: boolean;
  transports: string[];
  name: string;
  created_at: Date;
  last_used_at: Date | null;
}

const toPasskey = (row: Row): StoredPasskey => ({
  id: row.credential_id,
  subject: row.subject,
  publicKey: new Uint8Array(row.public_key),
  counter: Number(row.counter),
  deviceType: row.device_type,
  backedUp: row.backed_up,
  transports: row.transports ?? [],
  name: row.name,
  createdAt: row.created_at,
  lastUsedAt: row.last_used_at,
});

/** `zt_passkeys` (migration `ZeroTrustLifecycle1732000130000`). */
@Injectable()
export class PasskeyRepository {
  constructor(private readonly dataSources: DataSourceRef) {}

  async find(id: string): Promise<StoredPasskey | null> {
    const [row] = await rows<Row>(await this.db(), 'SELECT * FROM zt_passkeys WHERE credential_id = $1', [id]);
    return row ? toPasskey(row) : null;
  }

  async ofSubject(subject: string): Promise<StoredPasskey[]> {
    return (await rows<Row>(await this.db(), 'SELECT * FROM zt_passkeys WHERE subject = $1 ORDER BY created_at', [subject])).map(toPasskey);
  }

  /** Adds a credential; `false` when its id is already registered (to this account or another one). */
  async add(passkey: Omit<StoredPasskey, 'createdAt' | 'lastUsedAt'>): Promise<boolean> {
    const inserted = await rows(
      await this.db(),
      `INSERT INTO zt_passkeys (credential_id, subject, public_key, counter, device_type, backed_up, transports, name)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (credential_id) DO NOTHING RETURNING credential_id`,
      [passkey.id, passkey.subject, Buffer.from(passkey.publicKey), passkey.counter, passkey.deviceType, passkey.backedUp, passkey.transports, passkey.name],
    );
    return inserted.length === 1;
  }

  /**
   * Records a use: the counter only moves forward (both 0 is an authenticator without a counter). One
   * conditional UPDATE, so of two requests replaying one assertion at once only one can match.
   */
  async used(id: string, subject: string, previous: number, next: number): Promise<boolean> {
    const updated = await rows(
      await this.db(),
      `UPDATE zt_passkeys SET counter = $4, last_used_at = now()
       WHERE credential_id = $1 AND subject = $2 AND counter = $3 AND ($4 > $3 OR ($3 = 0 AND $4 = 0)) RETURNING credential_id`,
      [id, subject, previous, next],
    );
    return updated.length === 1;
  }

  async remove(subject: string, id: string): Promise<boolean> {
    return (await rows(await this.db(), 'DELETE FROM zt_passkeys WHERE credential_id = $1 AND subject = $2 RETURNING credential_id', [id, subject])).length === 1;
  }

  private async db(): Promise<Db> {
    return RlsContext.manager() ?? (await this.dataSources.get());
  }
}

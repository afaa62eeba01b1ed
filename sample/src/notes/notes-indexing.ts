import { Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { type ServiceClient, ServiceTokens } from 'nestjs-zero-trust';
import { firstValueFrom, type Subscription } from 'rxjs';
import { NatsClient } from '../worker/nats.transport.js';
import { NoteChanges } from './note-changes.js';

/**
 * With `ZT_NATS_URL` set, sends every note change to the indexer worker, each message with a fresh
 * service token of this API (`service:notes-api`, scope `notes:index`, the worker's audience). Without
 * it the API runs alone.
 */
@Injectable()
export class NotesIndexing implements OnModuleInit, OnApplicationShutdown {
  private client?: NatsClient;
  private indexer?: ServiceClient;
  private subscription?: Subscription;

  constructor(
    private readonly changes: NoteChanges,
    private readonly tokens: ServiceTokens,
  ) {}

  onModuleInit(): void {
    const servers = process.env.ZT_NATS_URL;
    if (!servers) return;
    this.client = new NatsClient({ servers });
    this.indexer = this.tokens.client(this.client, { service: 'notes-api', audience: process.env.ZT_WORKER_AUDIENCE ?? 'notes-worker', scopes: ['notes:index'] });
    this.subscription = this.changes.stream.subscribe((change) => {
      // An index is rebuilt from the database if it falls behind; a failed send must not fail the write.
      firstValueFrom(this.indexer!.emit('notes.changed', change), { defaultValue: undefined }).catch(() => undefined);
    });
  }

  /** Asks the worker for the owner's note ids whose title contains `text`. */
  search(ownerId: string, text: string): Promise<{ ids: string[] }> {
    if (!this.indexer) throw new Error('ZT_NATS_URL is not set: no indexer to ask');
    return firstValueFrom(this.indexer.send<{ ids: string[] }>('notes.search', { ownerId, text }));
  }

  async onApplicationShutdown(): Promise<void> {
    this.subscription?.unsubscribe();
    await this.client?.close();
  }
}

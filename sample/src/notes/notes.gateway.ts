import type { OnGatewayDisconnect } from '@nestjs/websockets';
import { ConnectedSocket, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { Authenticated, CurrentUser, type ZeroTrustPrincipal } from 'nestjs-zero-trust';
import type { OnModuleDestroy } from '@nestjs/common';
import type { Subscription } from 'rxjs';
import { type NoteChange, NoteChanges } from './note-changes.js';

type Client = { send?(data: string): void; readyState?: number };

/**
 * Pushes the caller's own note changes: a client opens a socket with its access token (the Authorization
 * header, or `{ event: 'authenticate', data: { token } }` first), sends `notes:watch`, then receives
 * `note:changed` for each note it creates, edits or deletes — never another user's. The module closes the
 * socket when the session ends (logout, logout-all, a grants change) or the token expires.
 */
@WebSocketGateway({ path: '/notes/live' })
export class NotesGateway implements OnGatewayDisconnect, OnModuleDestroy {
  private readonly watchers = new Map<Client, string>();
  private readonly subscription: Subscription;

  constructor(changes: NoteChanges) {
    this.subscription = changes.stream.subscribe((change) => this.push(change));
  }

  @Authenticated()
  @SubscribeMessage('notes:watch')
  watch(@ConnectedSocket() client: Client, @CurrentUser() user: ZeroTrustPrincipal) {
    // The principal the module verified for this message, never an id the client sent.
    this.watchers.set(client, user.ownerId);
    return { event: 'notes:watching', data: true };
  }

  handleDisconnect(client: Client): void {
    this.watchers.delete(client);
  }

  onModuleDestroy(): void {
    this.subscription.unsubscribe();
  }

  private push(change: NoteChange): void {
    const message = JSON.stringify({ event: 'note:changed', data: { type: change.type, id: change.id, title: change.title } });
    for (const [client, ownerId] of this.watchers) {
      if (ownerId === change.ownerId && client.readyState === 1) client.send?.(message);
    }
  }
}

import { Controller } from '@nestjs/common';
import { EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { IsIn, IsOptional, IsString, IsUUID, MaxLength } from 'class-validator';
import { Scopes } from 'nestjs-zero-trust';
import { NotesIndex } from './notes-index.js';

export class NoteChangedMessage {
  @IsIn(['created', 'updated', 'deleted'])
  type!: 'created' | 'updated' | 'deleted';

  @IsUUID()
  id!: string;

  @IsUUID()
  ownerId!: string;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  title?: string;
}

export class SearchMessage {
  @IsUUID()
  ownerId!: string;

  @IsString()
  @MaxLength(100)
  text!: string;
}

/**
 * The notes indexer: every message must carry the API's service identity with the `notes:index` scope (a
 * fresh service token per message, each accepted once). A user's access token, a forged or replayed one,
 * or a service without the scope is refused before the handler runs, like an HTTP route's caller.
 */
@Controller()
export class NotesIndexerController {
  constructor(private readonly index: NotesIndex) {}

  @Scopes('notes:index')
  @EventPattern<string>('notes.changed')
  changed(@Payload() change: NoteChangedMessage) {
    this.index.apply(change);
  }

  @Scopes('notes:index')
  @MessagePattern('notes.search')
  search(@Payload() query: SearchMessage) {
    return { ids: this.index.search(query.ownerId, query.text) };
  }
}

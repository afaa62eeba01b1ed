import { Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { NoteChanges, NoteChangesInterceptor } from './note-changes.js';
import { NotesGateway } from './notes.gateway.js';
import { NotesIndexing } from './notes-indexing.js';

/** The caller's note changes, pushed over a WebSocket (`/notes/live`) and, with `ZT_NATS_URL`, to the indexer worker. */
@Module({
  providers: [NoteChanges, NotesGateway, NotesIndexing, { provide: APP_INTERCEPTOR, useClass: NoteChangesInterceptor }],
  exports: [NoteChanges, NotesIndexing],
})
export class NotesRealtimeModule {}

import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import { RequestContexts } from 'nestjs-zero-trust';
import { type Observable, Subject, tap } from 'rxjs';
import { NotesController } from './notes.controller.js';

/** One change of a note, as the realtime gateway and the indexer see it. Never the note's body. */
export interface NoteChange {
  readonly type: 'created' | 'updated' | 'deleted';
  readonly id: string;
  readonly ownerId: string;
  readonly title?: string;
}

/** The note changes of this instance, published after the HTTP handler succeeded. */
@Injectable()
export class NoteChanges {
  private readonly changes = new Subject<NoteChange>();
  readonly stream: Observable<NoteChange> = this.changes.asObservable();

  publish(change: NoteChange): void {
    this.changes.next(change);
  }
}

const KINDS: Readonly<Record<string, NoteChange['type']>> = { create: 'created', update: 'updated', remove: 'deleted' };

/**
 * Watches the notes controller's writes (create, update, delete) and publishes each one that succeeded,
 * owned by the caller who made it (an `OwnedRepository` writes only the caller's notes).
 */
@Injectable()
export class NoteChangesInterceptor implements NestInterceptor {
  constructor(private readonly changes: NoteChanges) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const type = context.getType() === 'http' && context.getClass() === NotesController ? KINDS[context.getHandler().name] : undefined;
    if (!type) return next.handle();
    const params = context.switchToHttp().getRequest<{ params?: Record<string, string> }>().params ?? {};
    return next.handle().pipe(
      tap((result) => {
        const principal = RequestContexts.current()?.principal;
        const note = (result ?? {}) as { id?: string; title?: string };
        const id = note.id ?? params.id;
        if (principal && id) this.changes.publish({ type, id, ownerId: principal.ownerId, title: type === 'deleted' ? undefined : note.title });
      }),
    );
  }
}

import { Injectable } from '@nestjs/common';

/** The worker's search index of note titles, per owner: what an indexer over NATS maintains. */
@Injectable()
export class NotesIndex {
  private readonly titles = new Map<string, { ownerId: string; title: string }>();

  apply(change: { type: 'created' | 'updated' | 'deleted'; id: string; ownerId: string; title?: string }): void {
    if (change.type === 'deleted') this.titles.delete(change.id);
    else this.titles.set(change.id, { ownerId: change.ownerId, title: change.title ?? '' });
  }

  /** Ids of the owner's notes whose title contains `text` (case-insensitive). */
  search(ownerId: string, text: string): string[] {
    const needle = text.toLowerCase();
    return [...this.titles].filter(([, entry]) => entry.ownerId === ownerId && entry.title.toLowerCase().includes(needle)).map(([id]) => id);
  }

  get size(): number {
    return this.titles.size;
  }
}

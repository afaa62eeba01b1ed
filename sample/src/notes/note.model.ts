import { Field, ID, ObjectType } from '@nestjs/graphql';
import type { NoteChange } from './note-changes.js';
import type { Note } from './note.entity.js';

/** Relay-style global ids: `Note:<uuid>`, base64url. Opaque to clients, checked like any id (owner-only). */
export const toNodeId = (id: string): string => Buffer.from(`Note:${id}`).toString('base64url');

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The note id inside a global id, or undefined for anything that is not a well-formed note id. */
export function fromNodeId(nodeId: string): string | undefined {
  const decoded = Buffer.from(nodeId, 'base64url').toString('utf8');
  const [type, id, ...rest] = decoded.split(':');
  return type === 'Note' && rest.length === 0 && id !== undefined && UUID.test(id) ? id.toLowerCase() : undefined;
}

/** A note as GraphQL serves it: what the REST API serves, never the owner's id. */
@ObjectType('Note')
export class NoteModel {
  @Field(() => ID)
  id!: string;

  @Field(() => ID, { description: 'The Relay global id, for `node(id:)`.' })
  nodeId!: string;

  @Field()
  title!: string;

  @Field()
  body!: string;

  static of(note: Note): NoteModel {
    return { id: note.id, nodeId: toNodeId(note.id), title: note.title, body: note.body };
  }
}

/** One change of the caller's own notes, as the `noteChanged` subscription sends it. */
@ObjectType('NoteChange')
export class NoteChangeModel {
  @Field(() => String, { description: 'created, updated or deleted' })
  type!: NoteChange['type'];

  @Field(() => ID)
  id!: string;

  @Field(() => String, { nullable: true })
  title?: string;
}

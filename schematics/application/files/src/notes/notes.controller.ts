import { Body, Controller, Delete, Get, HttpCode, Patch, Post, Query } from '@nestjs/common';
import { Authenticated, Owned, OwnedRepository, OwnedResource, OwnsResource } from 'nestjs-zero-trust';
import { randomUUID } from 'node:crypto';
import { CreateNoteDto, ListNotesQuery, UpdateNoteDto } from './note.dto.js';
import { Note } from './note.entity.js';

/**
 * Notes are owner-only. Single-note routes load and check the note before the handler runs
 * (`@OwnsResource`: another user's note answers 404, like one that does not exist); list and create
 * go through an `OwnedRepository`, which cannot see or write another owner's rows.
 * `notes:admin` is the explicit (never implicit) scope that may read any note.
 */
@Controller('notes')
export class NotesController {
  @Authenticated()
  @Get()
  list(@Owned(Note) notes: OwnedRepository<Note>, @Query() query: ListNotesQuery) {
    return notes.find({ order: { createdAt: 'DESC' }, take: query.limit, skip: query.offset });
  }

  @Authenticated()
  @Post()
  create(@Owned(Note) notes: OwnedRepository<Note>, @Body() dto: CreateNoteDto) {
    return notes.create({ title: dto.title, body: dto.body }, randomUUID());
  }

  @OwnsResource(Note, { adminScope: 'notes:admin' })
  @Get(':id')
  get(@OwnedResource() note: Note) {
    return note;
  }

  @OwnsResource(Note)
  @Patch(':id')
  update(@Owned(Note) notes: OwnedRepository<Note>, @OwnedResource() note: Note, @Body() dto: UpdateNoteDto) {
    return notes.update(note.id, { title: dto.title ?? note.title, body: dto.body ?? note.body });
  }

  @OwnsResource(Note)
  @Delete(':id')
  @HttpCode(204)
  async remove(@Owned(Note) notes: OwnedRepository<Note>, @OwnedResource() note: Note) {
    await notes.delete(note.id);
  }
}

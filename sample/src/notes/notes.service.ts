import { Injectable, NotFoundException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import type { Repository } from 'typeorm';
import type { CreateNoteDto, UpdateNoteDto } from './note.dto.js';
import { Note } from './note.entity.js';

const PAGE_SIZE = 100;

/**
 * Every query is filtered by owner, so another user's id answers 404 exactly like an id that does
 * not exist (no existence oracle).
 */
@Injectable()
export class NotesService {
  constructor(@InjectRepository(Note) private readonly notes: Repository<Note>) {}

  list(ownerId: string): Promise<Note[]> {
    return this.notes.find({ where: { ownerId }, order: { createdAt: 'DESC' }, take: PAGE_SIZE });
  }

  async create(ownerId: string, dto: CreateNoteDto): Promise<Note> {
    const note = this.notes.create({ id: randomUUID(), ownerId, title: dto.title, body: dto.body });
    return this.notes.save(note);
  }

  async get(ownerId: string, id: string): Promise<Note> {
    const note = await this.notes.findOneBy({ id, ownerId });
    if (!note) throw new NotFoundException('Note not found');
    return note;
  }

  async update(ownerId: string, id: string, dto: UpdateNoteDto): Promise<Note> {
    const note = await this.get(ownerId, id);
    if (dto.title !== undefined) note.title = dto.title;
    if (dto.body !== undefined) note.body = dto.body;
    return this.notes.save(note);
  }

  async remove(ownerId: string, id: string): Promise<void> {
    const result = await this.notes.delete({ id, ownerId });
    if (!result.affected) throw new NotFoundException('Note not found');
  }
}

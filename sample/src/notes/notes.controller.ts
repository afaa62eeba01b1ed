import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Patch, Post } from '@nestjs/common';
import { CurrentUser, type ZeroTrustPrincipal } from 'nestjs-zero-trust';
import { CreateNoteDto, UpdateNoteDto } from './note.dto.js';
import { NotesService } from './notes.service.js';

/** No `@Public()`: every route here needs a valid access token. */
@Controller('notes')
export class NotesController {
  constructor(private readonly notes: NotesService) {}

  @Get()
  list(@CurrentUser() user: ZeroTrustPrincipal) {
    return this.notes.list(user.subject);
  }

  @Post()
  create(@CurrentUser() user: ZeroTrustPrincipal, @Body() dto: CreateNoteDto) {
    return this.notes.create(user.subject, dto);
  }

  @Get(':id')
  get(@CurrentUser() user: ZeroTrustPrincipal, @Param('id', new ParseUUIDPipe({ version: '4' })) id: string) {
    return this.notes.get(user.subject, id);
  }

  @Patch(':id')
  update(
    @CurrentUser() user: ZeroTrustPrincipal,
    @Param('id', new ParseUUIDPipe({ version: '4' })) id: string,
    @Body() dto: UpdateNoteDto,
  ) {
    return this.notes.update(user.subject, id, dto);
  }

  @Delete(':id')
  @HttpCode(204)
  remove(@CurrentUser() user: ZeroTrustPrincipal, @Param('id', new ParseUUIDPipe({ version: '4' })) id: string) {
    return this.notes.remove(user.subject, id);
  }
}

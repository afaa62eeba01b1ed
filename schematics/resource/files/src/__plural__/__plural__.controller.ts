import { Body, Controller, Delete, Get, HttpCode, Patch, Post, Query } from '@nestjs/common';
import { Authenticated, Owned, OwnedRepository, OwnedResource, OwnsResource } from 'nestjs-zero-trust';
import { randomUUID } from 'node:crypto';
import { Create<%= className %>Dto, List<%= pluralClass %>Query, Update<%= className %>Dto } from './<%= file %>.dto.js';
import { <%= className %> } from './<%= file %>.entity.js';

/** Owner-only: another user's <%= file %> answers 404, exactly like one that does not exist. */
@Controller('<%= route %>')
export class <%= pluralClass %>Controller {
  @Authenticated()
  @Get()
  list(@Owned(<%= className %>) rows: OwnedRepository<<%= className %>>, @Query() query: List<%= pluralClass %>Query) {
    return rows.find({ order: { createdAt: 'DESC' }, take: query.limit });
  }

  @Authenticated()
  @Post()
  create(@Owned(<%= className %>) rows: OwnedRepository<<%= className %>>, @Body() dto: Create<%= className %>Dto) {
    return rows.create({ title: dto.title }, randomUUID());
  }

  @OwnsResource(<%= className %>)
  @Get(':id')
  get(@OwnedResource() row: <%= className %>) {
    return row;
  }

  @OwnsResource(<%= className %>)
  @Patch(':id')
  update(@Owned(<%= className %>) rows: OwnedRepository<<%= className %>>, @OwnedResource() row: <%= className %>, @Body() dto: Update<%= className %>Dto) {
    return rows.update(row.id, { title: dto.title ?? row.title });
  }

  @OwnsResource(<%= className %>)
  @Delete(':id')
  @HttpCode(204)
  async remove(@Owned(<%= className %>) rows: OwnedRepository<<%= className %>>, @OwnedResource() row: <%= className %>) {
    await rows.delete(row.id);
  }
}

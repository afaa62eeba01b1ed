import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { <%= pluralClass %>Controller } from './<%= plural %>.controller.js';
import { <%= className %> } from './<%= file %>.entity.js';

@Module({
  imports: [TypeOrmModule.forFeature([<%= className %>])],
  controllers: [<%= pluralClass %>Controller],
})
export class <%= pluralClass %>Module {}

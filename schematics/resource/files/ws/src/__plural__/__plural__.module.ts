import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { <%= className %> } from './<%= file %>.entity.js';
import { <%= pluralClass %>Gateway } from './<%= plural %>.gateway.js';

/** Served over the app's WebSocket adapter (src/websockets/websockets.setup.ts, called by main.ts). */
@Module({
  imports: [TypeOrmModule.forFeature([<%= className %>])],
  providers: [<%= pluralClass %>Gateway],
})
export class <%= pluralClass %>Module {}

import { MessageBody, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { Authenticated, Owned, OwnedRepository, OwnedResource, OwnsResource } from 'nestjs-zero-trust';
import { randomUUID } from 'node:crypto';
import { <%= className %> } from './<%= file %>.entity.js';
import { Create<%= className %>Message, <%= className %>IdMessage, List<%= pluralClass %>Message, Update<%= className %>Message } from './<%= file %>.message.js';

/**
 * Owner-only, the REST controller's rules over a WebSocket (`/<%= route %>`): a client opens the socket with
 * its access token (the Authorization header, or `{ "event": "authenticate", "data": { "token" } }` first)
 * and sends `{ "event": "<%= route %>:get", "data": { "id" } }`; the answer comes back under the same event.
 * Another user's <%= file %>, like one that does not exist, gets no answer and changes nothing.
 */
@WebSocketGateway({ path: '/<%= route %>' })
export class <%= pluralClass %>Gateway {
  @Authenticated()
  @SubscribeMessage('<%= route %>:list')
  async list(@Owned(<%= className %>) rows: OwnedRepository<<%= className %>>, @MessageBody() message: List<%= pluralClass %>Message) {
    return { event: '<%= route %>:list', data: await rows.find({ order: { createdAt: 'DESC' }, take: message.limit }) };
  }

  @Authenticated()
  @SubscribeMessage('<%= route %>:create')
  async create(@Owned(<%= className %>) rows: OwnedRepository<<%= className %>>, @MessageBody() message: Create<%= className %>Message) {
    return { event: '<%= route %>:create', data: await rows.create({ title: message.title }, randomUUID()) };
  }

  @OwnsResource(<%= className %>)
  @SubscribeMessage('<%= route %>:get')
  get(@MessageBody() _message: <%= className %>IdMessage, @OwnedResource() row: <%= className %>) {
    return { event: '<%= route %>:get', data: row };
  }

  @OwnsResource(<%= className %>)
  @SubscribeMessage('<%= route %>:update')
  async update(@MessageBody() message: Update<%= className %>Message, @Owned(<%= className %>) rows: OwnedRepository<<%= className %>>, @OwnedResource() row: <%= className %>) {
    return { event: '<%= route %>:update', data: await rows.update(row.id, { title: message.title ?? row.title }) };
  }

  @OwnsResource(<%= className %>)
  @SubscribeMessage('<%= route %>:delete')
  async remove(@MessageBody() _message: <%= className %>IdMessage, @Owned(<%= className %>) rows: OwnedRepository<<%= className %>>, @OwnedResource() row: <%= className %>) {
    return { event: '<%= route %>:delete', data: { id: row.id, deleted: await rows.delete(row.id) } };
  }
}

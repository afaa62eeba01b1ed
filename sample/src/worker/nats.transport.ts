import { BaseRpcContext, ClientProxy, type CustomTransportStrategy, NatsRecord, type ReadPacket, Server, type WritePacket } from '@nestjs/microservices';
import { connect, type MsgHdrs, type NatsConnection, type Subscription } from 'nats';
import { lastValueFrom } from 'rxjs';

/**
 * NATS request-reply and events with message headers, on the `nats` client. (Nest's built-in NATS
 * transport loads `@nats-io/transport-node`; this app uses the `nats` package, so it brings its own
 * few lines.) The message context exposes the headers the way Nest's `NatsContext` does, which is where
 * the zero-trust guard reads the caller's service token.
 */
export class NatsMessageContext extends BaseRpcContext<[string, MsgHdrs | undefined]> {
  getSubject(): string {
    return this.args[0];
  }

  getHeaders(): MsgHdrs | undefined {
    return this.args[1];
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Refuse what no handler should parse: a message over this size is dropped before `JSON.parse`. */
const MAX_MESSAGE_BYTES = 64 * 1024;

export class NatsServer extends Server implements CustomTransportStrategy {
  private connection?: NatsConnection;
  private readonly subscriptions: Subscription[] = [];

  constructor(private readonly options: { servers: string; queue?: string }) {
    super();
  }

  async listen(callback: (error?: unknown) => void): Promise<void> {
    try {
      this.connection = await connect({ servers: this.options.servers, maxReconnectAttempts: 3 });
      for (const [pattern, handler] of this.getHandlers()) {
        const subscription = this.connection.subscribe(pattern, { queue: this.options.queue });
        this.subscriptions.push(subscription);
        void (async () => {
          for await (const message of subscription) void this.dispatch(message.subject, message.data, message.headers, handler.isEventHandler === true, (reply) => message.respond(reply));
        })();
      }
      callback();
    } catch (error) {
      callback(error);
    }
  }

  private async dispatch(subject: string, raw: Uint8Array, headers: MsgHdrs | undefined, isEvent: boolean, respond: (reply: Uint8Array) => boolean): Promise<void> {
    const handler = this.getHandlerByPattern(subject);
    if (!handler) return;
    const reply = (packet: WritePacket) => void respond(encoder.encode(JSON.stringify(packet)));
    if (raw.byteLength > MAX_MESSAGE_BYTES) {
      if (!isEvent) reply({ err: 'Payload too large', isDisposed: true });
      return;
    }
    let data: unknown;
    try {
      data = raw.byteLength === 0 ? undefined : (JSON.parse(decoder.decode(raw)) as { data?: unknown }).data;
    } catch {
      if (!isEvent) reply({ err: 'Malformed message', isDisposed: true });
      return;
    }
    const context = new NatsMessageContext([subject, headers]);
    if (isEvent) {
      await lastValueFrom(this.transformToObservable(await handler(data, context)), { defaultValue: undefined }).catch(() => undefined);
      return;
    }
    this.send(this.transformToObservable(await handler(data, context)), (packet) => reply(packet));
  }

  async close(): Promise<void> {
    for (const subscription of this.subscriptions) subscription.unsubscribe();
    await this.connection?.drain();
  }

  on(): never {
    throw new Error('NatsServer has no events');
  }

  unwrap<T>(): T {
    return this.connection as T;
  }
}

/** The client side: `send` (request-reply) and `emit` (event), carrying the headers of a `NatsRecord`. */
export class NatsClient extends ClientProxy {
  private connection?: Promise<NatsConnection>;

  constructor(private readonly options: { servers: string; timeout?: number }) {
    super();
  }

  connect(): Promise<NatsConnection> {
    this.connection ??= connect({ servers: this.options.servers, maxReconnectAttempts: 3 });
    return this.connection;
  }

  async close(): Promise<void> {
    const connection = this.connection;
    this.connection = undefined;
    await (await connection)?.drain();
  }

  unwrap<T>(): T {
    return this.connection as T;
  }

  private static split(data: unknown): { data: unknown; headers?: MsgHdrs } {
    return data instanceof NatsRecord ? { data: data.data, headers: data.headers as MsgHdrs | undefined } : { data };
  }

  protected publish(packet: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    const { data, headers } = NatsClient.split(packet.data);
    void this.connect()
      .then((connection) => connection.request(String(packet.pattern), encoder.encode(JSON.stringify({ pattern: packet.pattern, data })), { timeout: this.options.timeout ?? 5000, headers }))
      .then((message) => {
        const reply = JSON.parse(decoder.decode(message.data)) as WritePacket;
        callback({ err: reply.err, response: reply.response, isDisposed: true });
      })
      .catch((err: unknown) => callback({ err, isDisposed: true }));
    return () => undefined;
  }

  protected async dispatchEvent<T = undefined>(packet: ReadPacket): Promise<T> {
    const { data, headers } = NatsClient.split(packet.data);
    const connection = await this.connect();
    connection.publish(String(packet.pattern), encoder.encode(JSON.stringify({ pattern: packet.pattern, data })), { headers });
    await connection.flush();
    return undefined as T;
  }
}

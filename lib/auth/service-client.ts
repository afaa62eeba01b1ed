import { defer, mergeMap, type Observable } from 'rxjs';

export interface ServiceTokenRequest {
  /** The calling service, e.g. `notes-api`; the principal's subject is `service:<name>`. */
  service: string;
  /** The receiving service's audience (its `audience` option), e.g. `notes-worker`. */
  audience: string;
  /** The narrow scopes the receiving handlers require, e.g. `['notes:index']`. */
  scopes: readonly string[];
  /** Seconds the token lives. Default 60, at most 300 (and never more than `maxTokenLifetime`). */
  ttl?: number;
}

/** What signs the tokens (`ServiceTokens`). */
export interface ServiceTokenIssuer {
  issue(request: ServiceTokenRequest): string;
}

/** The part of a Nest `ClientProxy` the helper calls. */
export interface MessageClient {
  send<T = unknown>(pattern: unknown, data: unknown): Observable<T>;
  emit<T = unknown>(pattern: unknown, data: unknown): Observable<T>;
}

/** Builds the transport's record: the payload plus headers (NATS: a `NatsRecord` with `MsgHdrs`). */
export type MessageRecordFactory = (data: unknown, headers: Readonly<Record<string, string>>) => unknown | Promise<unknown>;

type NatsHeaders = { set(name: string, value: string): void };

/**
 * NATS by default: `NatsRecordBuilder` of @nestjs/microservices with headers from whichever NATS client
 * the app has (`@nats-io/transport-node`, which Nest's transport uses, else `nats`). Both are optional peers,
 * loaded on first use.
 */
export const natsRecord: MessageRecordFactory = async (data, values) => {
  const { NatsRecordBuilder } = await import('@nestjs/microservices');
  // Nest's NATS transport's client first (a name in a variable: bundlers must not require it), else `nats`.
  const transportNode = '@nats-io/transport-node';
  const nats = (await import(transportNode).catch(() => import('nats'))) as { headers(): NatsHeaders };
  const headers = nats.headers();
  for (const [name, value] of Object.entries(values)) headers.set(name, value);
  return new NatsRecordBuilder(data).setHeaders(headers).build();
};

/**
 * A message client that proves this service's identity on every message: each `send`/`emit` carries a
 * fresh service token (a new `jti`, the receiver accepts each once) in the `authorization` header.
 * Get one with `serviceTokens.client(proxy, { service, audience, scopes })`.
 */
export class ServiceClient {
  constructor(
    private readonly proxy: MessageClient,
    private readonly tokens: ServiceTokenIssuer,
    private readonly identity: ServiceTokenRequest,
    private readonly record: MessageRecordFactory = natsRecord,
  ) {}

  send<T = unknown>(pattern: unknown, data: unknown): Observable<T> {
    return defer(() => this.signed(data)).pipe(mergeMap((record) => this.proxy.send<T>(pattern, record)));
  }

  emit<T = unknown>(pattern: unknown, data: unknown): Observable<T> {
    return defer(() => this.signed(data)).pipe(mergeMap((record) => this.proxy.emit<T>(pattern, record)));
  }

  private async signed(data: unknown): Promise<unknown> {
    return this.record(data, { authorization: `Bearer ${this.tokens.issue(this.identity)}` });
  }
}

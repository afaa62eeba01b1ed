import WebSocket from 'ws';

type Message = { id?: string; type: string; payload?: any };

/**
 * A graphql-ws (`graphql-transport-ws`) client at the protocol level, so a test sees every frame, the
 * close code, and can send what a real client library never would (no connection_init, a bad Origin).
 */
export interface GraphqlWsTestClient {
  /** `connection_ack` received (true), or the socket closed first (false). */
  readonly acknowledged: Promise<boolean>;
  /** The close code, once the server (or the test) closed the socket. */
  readonly closed: Promise<number>;
  readonly messages: Message[];
  isOpen(): boolean;
  subscribe(id: string, query: string, variables?: Record<string, unknown>): void;
  /** The next `next`/`error`/`complete` message of subscription `id`, or undefined within `within` ms. */
  nextOf(id: string, within?: number): Promise<Message | undefined>;
  close(): void;
}

export function connectGraphqlWs(url: string, options: { authorization?: string; origin?: string; headers?: Record<string, string>; init?: boolean } = {}): GraphqlWsTestClient {
  const socket = new WebSocket(url, 'graphql-transport-ws', { headers: { ...(options.origin ? { Origin: options.origin } : {}), ...options.headers } });
  const messages: Message[] = [];
  const waiters: Array<() => void> = [];
  let open = false;
  let ack!: (value: boolean) => void;
  let onClosed!: (code: number) => void;
  const acknowledged = new Promise<boolean>((resolve) => (ack = resolve));
  const closed = new Promise<number>((resolve) => (onClosed = resolve));
  socket.on('open', () => {
    open = true;
    if (options.init !== false) socket.send(JSON.stringify({ type: 'connection_init', payload: options.authorization === undefined ? {} : { Authorization: options.authorization } }));
  });
  socket.on('message', (raw) => {
    const message = JSON.parse(String(raw)) as Message;
    if (message.type === 'connection_ack') ack(true);
    if (message.type === 'ping') socket.send(JSON.stringify({ type: 'pong' }));
    messages.push(message);
    for (const wake of waiters.splice(0)) wake();
  });
  socket.on('error', () => undefined);
  socket.on('close', (code) => {
    open = false;
    ack(false);
    onClosed(code);
    for (const wake of waiters.splice(0)) wake();
  });
  const taken = new Set<Message>();
  const nextOf = async (id: string, within = 2000): Promise<Message | undefined> => {
    const deadline = Date.now() + within;
    for (;;) {
      const found = messages.find((message) => message.id === id && !taken.has(message));
      if (found) {
        taken.add(found);
        return found;
      }
      const left = deadline - Date.now();
      if (left <= 0 || (!open && messages.every((message) => message.id !== id || taken.has(message)))) return undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  };
  return {
    acknowledged,
    closed,
    messages,
    isOpen: () => open,
    subscribe: (id, query, variables) => socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query, variables } })),
    nextOf,
    close: () => socket.close(),
  };
}

/** Resolves with the close code when the socket closed within `within` ms, undefined if it is still open. */
export const closedWithin = (client: GraphqlWsTestClient, within: number) =>
  Promise.race([client.closed, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), within))]);

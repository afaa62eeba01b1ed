import type { IncomingMessage } from 'node:http';
import { bearerToken } from '../auth/bearer-token.js';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';
import { lazyGuardian, type ProviderLookup, subscriptionRequestOf, type SubscriptionRequest } from './graphql-subscriptions.js';
import { CLOSE_FORBIDDEN, CLOSE_UNAUTHORIZED, resolveWebSocketOptions, type ZeroTrustWebSocketOptions } from './socket-guardian.js';

/** The parts of `ws`, Fastify and Mercurius read here (all optional peers: no runtime import). */
type WsSocket = {
  once(event: 'message', listener: (data: unknown) => void): unknown;
  once(event: 'close', listener: () => void): unknown;
  close(code?: number, reason?: string): void;
};
type WsServer = { on(event: 'connection', listener: (socket: WsSocket, request: IncomingMessage) => void): unknown };
type FastifyRequestLike = { raw: IncomingMessage; ws?: boolean; server: { websocketServer?: WsServer } };
type FastifyReplyLike = { code(status: number): FastifyReplyLike; send(payload?: unknown): FastifyReplyLike };
type GraphQLErrorLike = { message: string; path?: readonly (string | number)[]; extensions?: Record<string, unknown> };
type MercuriusErrorFormatter = (execution: { errors: unknown[]; data?: unknown }, context: unknown) => { response: { errors?: GraphQLErrorLike[] } };
type SubscriptionContext = { request?: object; req?: SubscriptionRequest };
type FieldInfo = { fieldNodes: readonly unknown[]; path: unknown };
type SubscriptionField = { subscribe?: (...args: unknown[]) => unknown };

/** What is read of `zeroTrustGraphql({ driver: 'mercurius' })`'s result. */
export interface MercuriusServerRules {
  readonly validationRules?: readonly unknown[];
  readonly errorFormatter?: unknown;
  readonly [option: string]: unknown;
}

/** Why a connection was refused, for Mercurius's log (the client only sees the close code). */
class SubscriptionRefused extends Error {
  constructor(reason: string) {
    super(`zero-trust: GraphQL subscription connection refused (${reason})`);
  }
}

/** Connection_init payloads past this size are not read for a token (Mercurius accepts up to 1 MiB). */
const MAX_INIT_BYTES = 16_384;

const isAsyncIterable = (value: unknown): value is AsyncIterable<unknown> =>
  typeof value === 'object' && value !== null && typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function';

/** The Authorization value of a `connection_init` frame, if the frame is one and has one. */
function initAuthorization(data: unknown): unknown {
  const text = Buffer.isBuffer(data) ? (data.length <= MAX_INIT_BYTES ? data.toString('utf8') : '') : typeof data === 'string' ? data : '';
  if (text.length === 0 || text.length > MAX_INIT_BYTES) return undefined;
  try {
    const message = JSON.parse(text) as { type?: unknown; payload?: Record<string, unknown> | null };
    if (message?.type !== 'connection_init' || typeof message.payload !== 'object' || message.payload === null) return undefined;
    return message.payload.Authorization ?? message.payload.authorization;
  } catch {
    return undefined; // Not JSON: Mercurius answers the client itself; there is no token to read.
  }
}

/**
 * The options of `GraphQLModule` (Mercurius driver) that make GraphQL subscriptions as zero-trust as
 * queries, to spread beside `zeroTrustGraphql({ driver: 'mercurius' })`'s. The Apollo driver's
 * `zeroTrustGraphqlSubscriptions` does the same over graphql-ws; Mercurius has its own server:
 *
 * - The upgrade is refused (403) for an Origin outside `allowedOrigins` (a socket is not covered by
 *   CORS), and (401) for an invalid Authorization header. Query-string tokens are never read.
 * - The token is checked at `connection_init` (`{ Authorization: 'Bearer <token>' }` in its payload, or
 *   the upgrade's header): no valid token, no connection (closed with 4401 before `connection_ack`, so
 *   nothing sent after it is served). A socket that never sends it is closed after `authenticationTimeout`.
 * - Each subscription runs the global guards (`@Scopes`, `@OwnsResource`, throttling...) on a request
 *   that holds only the connection's token: the init payload's other keys, which Mercurius would copy
 *   into the request's headers, are not read by them.
 * - The connection is watched by a `SocketGuardian`: a revoked session (logout, changed grants, disabled
 *   account) or an expired token closes it (4401) within `revocationCheckInterval` seconds or at the
 *   token's expiry, without waiting for the next event; its subscriptions end with it.
 * - Documents sent over the socket are validated with the HTTP rules (Mercurius would run them
 *   unvalidated) and a refused subscribe's error is masked like any other.
 *
 * Events are the resolver's to filter: return `ownedEvents(source, user, (event) => event.ownerId)`.
 *
 * `GraphQLModule.forRootAsync<MercuriusDriverConfig>({ driver: MercuriusDriver, inject: [ModuleRef],
 * useFactory: async (moduleRef) => { const graphql = await zeroTrustGraphql({ driver: 'mercurius' });
 * return { ...graphql, autoSchemaFile: true, ...await zeroTrustMercuriusSubscriptions(moduleRef,
 * { allowedOrigins }, graphql) }; } })`. It sets `subscription`, `hooks` and `additionalRouteOptions`:
 * an app with its own hooks or route options merges them in.
 */
export async function zeroTrustMercuriusSubscriptions(
  moduleRef: ProviderLookup,
  options: ZeroTrustWebSocketOptions,
  graphqlOptions: MercuriusServerRules,
): Promise<{ subscription: Record<string, unknown>; hooks: Record<string, unknown>; additionalRouteOptions: Record<string, unknown> }> {
  const resolved = resolveWebSocketOptions(options);
  if (typeof graphqlOptions?.errorFormatter !== 'function' || !Array.isArray(graphqlOptions.validationRules)) {
    throw new ZeroTrustConfigurationError(
      "zeroTrustMercuriusSubscriptions: pass the options zeroTrustGraphql({ driver: 'mercurius' }) returned as the third argument, so operations sent over the socket get the same limits and masked errors as over HTTP.",
    );
  }
  const graphql = await import('graphql/index.js');
  const rules = [...graphql.specifiedRules, ...(graphqlOptions.validationRules as typeof graphql.specifiedRules)];
  const formatError = graphqlOptions.errorFormatter as MercuriusErrorFormatter;
  const guardian = lazyGuardian(moduleRef, resolved);
  /** Upgrades that passed the handshake check, until their socket opens. */
  const admitted = new WeakSet<IncomingMessage>();
  /** Each admitted socket's init payload Authorization (once it arrived). */
  const initTokens = new WeakMap<object, { authorization?: unknown }>();
  /** Each connection's request, by Mercurius's per-connection request object. */
  const requests = new WeakMap<object, SubscriptionRequest>();
  const watched = new WeakSet<WsServer>();
  const wrapped = new WeakSet<object>();

  /** An error as the same masked GraphQL error the HTTP path sends (message, code, path; nothing else). */
  const masked = (error: unknown, context: unknown, path?: readonly (string | number)[], nodes?: FieldInfo['fieldNodes']): Error => {
    const located = graphql.locatedError(error, nodes as Parameters<typeof graphql.locatedError>[1], path);
    const [formatted] = formatError({ errors: [located], data: null }, context).response.errors ?? [];
    return new graphql.GraphQLError(formatted?.message ?? 'Internal server error', {
      nodes: located.nodes,
      path: formatted?.path ?? path,
      extensions: formatted?.extensions ?? { code: 'INTERNAL_SERVER_ERROR' },
    });
  };

  /**
   * Mercurius sends an error thrown while a subscription starts (a guard's refusal, a resolver's
   * exception) as it is, past the error formatter: each root subscription field's `subscribe` is
   * wrapped once so that error is masked like every other (never SQL or a stack, always a code).
   */
  const maskSubscribeErrors = (schema: { getSubscriptionType(): { getFields(): Record<string, SubscriptionField> } | null | undefined }) => {
    const type = schema.getSubscriptionType();
    if (!type || wrapped.has(type)) return;
    wrapped.add(type);
    for (const field of Object.values(type.getFields())) {
      const subscribe = field.subscribe;
      if (typeof subscribe !== 'function') continue;
      field.subscribe = async (...args: unknown[]) => {
        let outcome: unknown;
        try {
          outcome = await subscribe(...args);
        } catch (error) {
          outcome = error;
        }
        const info = args[3] as FieldInfo;
        const fail = (error: unknown) => masked(error, args[2], graphql.responsePathAsArray(info.path as Parameters<typeof graphql.responsePathAsArray>[0]), info.fieldNodes);
        // Nest's exception filters hand a resolver's error back as its value (graphql-js reports it).
        if (outcome instanceof Error) throw fail(outcome);
        // A subscription with a `filter` (Mercurius's withFilter) runs its guards at the first pull:
        // what it throws then goes out as it is too.
        if (!isAsyncIterable(outcome)) return outcome;
        const iterator = outcome[Symbol.asyncIterator]();
        return {
          next: () => iterator.next().catch((error: unknown) => Promise.reject(fail(error))),
          return: (value?: unknown) => iterator.return?.(value) ?? Promise.resolve({ done: true, value: undefined }),
          [Symbol.asyncIterator]() {
            return this;
          },
        };
      };
    }
  };

  /** Once per WebSocket server: remembers each admitted socket's connection_init token, which Mercurius's `context` is not given. */
  const watch = (server: WsServer | undefined) => {
    if (!server || watched.has(server)) return;
    watched.add(server);
    server.on('connection', (socket, request) => {
      if (!admitted.delete(request)) return; // Another route's socket.
      const init: { authorization?: unknown } = {};
      initTokens.set(socket, init);
      // The first frame must be connection_init (graphql-transport-ws); read before Mercurius handles it.
      socket.once('message', (data) => (init.authorization = initAuthorization(data)));
      socket.once('close', () => guardian.built()?.detach(socket));
      // No token yet: a deadline. Mercurius has no connection_init timeout of its own.
      void guardian.get().attach(socket, undefined);
    });
  };

  return {
    subscription: {
      // Mercurius runs this at connection_init, before connection_ack; a throw closes the connection
      // unacknowledged (and nothing the client sent after it is served).
      context: async (socket: WsSocket, request: { raw: IncomingMessage }) => {
        const guard = guardian.get();
        const init = initTokens.get(socket);
        if (!init) {
          socket.close(CLOSE_FORBIDDEN, 'forbidden');
          throw new SubscriptionRefused('the upgrade was not checked');
        }
        const subscriptionRequest = subscriptionRequestOf(request.raw, init.authorization);
        const credentials = bearerToken(subscriptionRequest);
        if (!credentials.token) {
          guard.close(socket, CLOSE_UNAUTHORIZED, 'authentication required');
          throw new SubscriptionRefused('no bearer token');
        }
        // Closes the socket itself (4401) for an invalid, expired or revoked token, or another subject's.
        if (!(await guard.authenticate(socket, credentials.token))) throw new SubscriptionRefused('invalid token');
        requests.set(request, subscriptionRequest);
        return { req: { ...subscriptionRequest } };
      },
    },
    hooks: {
      preSubscriptionExecution: [
        async (schema: Parameters<typeof graphql.validate>[0], document: Parameters<typeof graphql.validate>[1], context: SubscriptionContext) => {
          maskSubscribeErrors(schema as unknown as Parameters<typeof maskSubscribeErrors>[0]);
          const errors = graphql.validate(schema, document, rules);
          if (errors.length > 0) throw masked(errors[0], context);
          // A request per subscription: passport writes `user`/`authInfo` on it, the headers stay frozen.
          // Never none: the guards would fall back to Mercurius's request, whose headers the init payload wrote.
          const connection = context.request ? requests.get(context.request) : undefined;
          if (!connection) throw new graphql.GraphQLError('Forbidden', { extensions: { code: 'FORBIDDEN' } });
          context.req = { ...connection };
        },
      ],
    },
    additionalRouteOptions: {
      // Runs for the GraphQL route before the upgrade: a refused handshake never becomes a socket.
      preHandler: async (request: FastifyRequestLike, reply: FastifyReplyLike) => {
        if (request.ws !== true) return; // An HTTP query: the global guards handle it.
        const handshake = await guardian.get().checkHandshake(request.raw);
        if (!handshake.ok) return reply.code(handshake.status).send();
        watch(request.server.websocketServer);
        admitted.add(request.raw);
      },
    },
  };
}

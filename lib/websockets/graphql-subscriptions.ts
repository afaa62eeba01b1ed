import type { IncomingMessage } from 'node:http';
import { AuditService } from '../audit/audit.service.js';
import { AccessTokenVerifier } from '../auth/access-token.verifier.js';
import type { AuthConfig } from '../auth/auth.options.js';
import { AUTH_CONFIG } from '../auth/auth.internal-constants.js';
import { bearerToken } from '../auth/bearer-token.js';
import { Clock } from '../core/clock.js';
import { ZeroTrustConfigurationError } from '../core/zero-trust-configuration.error.js';
import { StoreFailurePolicy } from '../store/store-failure.policy.js';
import { type ResolvedWebSocketOptions, resolveWebSocketOptions, SocketGuardian, type ZeroTrustWebSocketOptions } from './socket-guardian.js';

/** What `zeroTrustGraphqlSubscriptions` needs of the application: Nest's `ModuleRef` (or the app itself). */
export type ProviderLookup = { get<T = unknown>(token: unknown, options: { strict: false }): T };

/** The part of graphql-ws's connection context read here. */
type GraphqlWsContext = {
  connectionParams?: Readonly<Record<string, unknown>>;
  extra: { socket: object; request: IncomingMessage };
};

/**
 * The request a subscription's resolvers see (`context.req`): the connection's `Authorization` value as
 * a header, so the global guards authenticate, throttle and authorize a subscription field exactly like
 * a query (the same decorators, the same boot check, the same one header parser), and the client's
 * address from the upgrade request. One per connection, frozen: nothing a client sends later changes it.
 */
export interface SubscriptionRequest {
  readonly method: 'SUBSCRIBE';
  readonly url: string;
  readonly headers: Readonly<{ authorization: string; origin?: string }>;
  readonly socket: IncomingMessage['socket'];
}

const requests = new WeakMap<object, SubscriptionRequest>();

/**
 * The request of a connection: the token its init payload gave (`given`), else the upgrade's
 * Authorization header; the Origin and the client's address from the upgrade. Shared by both drivers.
 */
export function subscriptionRequestOf(request: IncomingMessage, given: unknown): SubscriptionRequest {
  const authorization = typeof given === 'string' ? given : typeof request.headers.authorization === 'string' ? request.headers.authorization : '';
  return Object.freeze({
    method: 'SUBSCRIBE',
    url: request.url ?? '/',
    headers: Object.freeze({ authorization, ...(typeof request.headers.origin === 'string' ? { origin: request.headers.origin } : {}) }),
    socket: request.socket,
  });
}

/**
 * The app's `SocketGuardian` for subscription sockets, built at the first connection: the factory that
 * makes the GraphQL options runs before the module's providers exist.
 */
export function lazyGuardian(moduleRef: ProviderLookup, resolved: ResolvedWebSocketOptions): { get(): SocketGuardian; built(): SocketGuardian | undefined } {
  let guardian: SocketGuardian | undefined;
  return {
    get: () =>
      (guardian ??= new SocketGuardian(
        resolved,
        moduleRef.get(AccessTokenVerifier, { strict: false }),
        moduleRef.get(AuditService, { strict: false }),
        moduleRef.get(StoreFailurePolicy, { strict: false }),
        moduleRef.get(Clock, { strict: false }),
        moduleRef.get<AuthConfig>(AUTH_CONFIG, { strict: false }),
      )),
    built: () => guardian,
  };
}

type GraphQLErrorLike = { message: string; toJSON?: () => GraphQLErrorLike };

/** What is read of `zeroTrustGraphql({ driver: 'apollo' })`'s result. */
export interface GraphqlServerRules {
  readonly validationRules?: readonly unknown[];
  readonly formatError?: unknown;
  readonly [option: string]: unknown;
}

/**
 * The `subscriptions` option of `GraphQLModule` (Apollo driver) that makes GraphQL subscriptions over
 * graphql-ws as zero-trust as queries:
 *
 * - The Origin of the upgrade is checked against `allowedOrigins` (a socket is not covered by CORS).
 * - The token is checked at `connection_init` (`{ Authorization: 'Bearer <token>' }` in its payload, or
 *   the upgrade's Authorization header): no valid token, no connection (graphql-ws closes it with 4403).
 * - Each `subscribe` runs the global guards: deny-by-default, `@Public`, `@Scopes`, `@OwnsResource`...
 * - The connection is watched by a `SocketGuardian`: a revoked session (logout, changed grants, disabled
 *   account) or an expired token closes it (4401) within `revocationCheckInterval` seconds or at the
 *   token's expiry, without waiting for the next event; its subscriptions end with it.
 *
 * - Operations over the socket are validated with the same rules and their errors masked the same way.
 *
 * Events are the resolver's to filter: return `ownedEvents(source, user, (event) => event.ownerId)`.
 *
 * `GraphQLModule.forRootAsync({ driver: ApolloDriver, inject: [ModuleRef], useFactory: async (moduleRef) =>
 * { const graphql = await zeroTrustGraphql({ driver: 'apollo' }); return { ...graphql, autoSchemaFile: true,
 * subscriptions: await zeroTrustGraphqlSubscriptions(moduleRef, { allowedOrigins }, graphql) }; } })`
 */
export async function zeroTrustGraphqlSubscriptions(
  moduleRef: ProviderLookup,
  options: ZeroTrustWebSocketOptions & { path?: string },
  graphqlOptions: GraphqlServerRules,
): Promise<{ 'graphql-ws': Record<string, unknown> }> {
  const { path, ...rest } = options ?? ({} as typeof options);
  const resolved = resolveWebSocketOptions(rest);
  if (typeof graphqlOptions?.formatError !== 'function' || !Array.isArray(graphqlOptions.validationRules)) {
    throw new ZeroTrustConfigurationError(
      "zeroTrustGraphqlSubscriptions: pass the options zeroTrustGraphql({ driver: 'apollo' }) returned as the third argument, so operations sent over the socket get the same limits and masked errors as over HTTP.",
    );
  }
  const graphql = await import('graphql/index.js');
  const rules = [...graphql.specifiedRules, ...(graphqlOptions.validationRules as typeof graphql.specifiedRules)];
  const format = graphqlOptions.formatError as (formatted: unknown, error: unknown) => unknown;
  const mask = (errors: readonly GraphQLErrorLike[]) => errors.map((error) => format(typeof error.toJSON === 'function' ? error.toJSON() : error, error));
  const guardian = lazyGuardian(moduleRef, resolved);
  return {
    'graphql-ws': {
      ...(path ? { path } : {}),
      // graphql-ws waits this long for connection_init before closing (4408).
      connectionInitWaitTimeout: resolved.authenticationTimeout * 1000,
      onConnect: async (ctx: GraphqlWsContext): Promise<boolean> => {
        const guard = guardian.get();
        const { socket, request } = ctx.extra;
        const handshake = await guard.checkHandshake(request);
        if (!handshake.ok) return false;
        const subscriptionRequest = subscriptionRequestOf(request, ctx.connectionParams?.Authorization ?? ctx.connectionParams?.authorization);
        const credentials = bearerToken(subscriptionRequest);
        if (!credentials.token) return false;
        await guard.attach(socket, undefined, credentials.token);
        if (!guard.principalOf(socket)) return false;
        requests.set(socket, subscriptionRequest);
        return true;
      },
      onClose: (ctx: GraphqlWsContext) => {
        guardian.built()?.detach(ctx.extra.socket);
      },
      // Replaces the driver's context (which would hand the resolvers graphql-ws's own object as `req`).
      // A request per operation: passport writes `user`/`authInfo` on it, the headers stay frozen.
      context: (ctx: GraphqlWsContext) => {
        const connection = requests.get(ctx.extra.socket);
        return { req: connection ? { ...connection } : undefined };
      },
      // The HTTP server's validation rules (GraphQL Armor's depth, cost, alias and directive limits; no
      // introspection in production): an operation sent over the socket is held to the same limits.
      validate: (schema: Parameters<typeof graphql.validate>[0], document: Parameters<typeof graphql.validate>[1]) => graphql.validate(schema, document, rules),
      // The same masking as over HTTP: graphql-ws would send a resolver's raw error message (SQL, internals).
      onError: (_ctx: unknown, _id: string, _payload: unknown, errors: readonly GraphQLErrorLike[]) => mask(errors),
      onNext: (_ctx: unknown, _id: string, _payload: unknown, _args: unknown, result: { errors?: readonly GraphQLErrorLike[] }) =>
        result.errors?.length ? { ...result, errors: mask(result.errors) } : undefined,
    },
  };
}

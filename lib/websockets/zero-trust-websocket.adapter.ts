import type { INestApplicationContext, WebSocketAdapter } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { AuditService } from '../audit/audit.service.js';
import { AccessTokenVerifier } from '../auth/access-token.verifier.js';
import { AUTH_CONFIG } from '../auth/auth.internal-constants.js';
import type { AuthConfig } from '../auth/auth.options.js';
import { Clock } from '../core/clock.js';
import { StoreFailurePolicy } from '../store/store-failure.policy.js';
import { resolveWebSocketOptions, SocketGuardian, type ZeroTrustWebSocketOptions } from './socket-guardian.js';

/** The message a client sends to (re-)authenticate its open socket: `{ event: 'authenticate', data: { token } }`. */
export const AUTHENTICATE_MESSAGE = 'authenticate';

type MessageHandler = { message: unknown; methodName?: string; callback: (...args: unknown[]) => unknown; isAckHandledManually?: boolean };
type Listener = (...args: unknown[]) => void;
type EventSource = { on(event: string, listener: Listener): unknown; once?(event: string, listener: Listener): unknown };

/** The guardian's handlers around the gateway's: every message counted, `authenticate` answered by the module. */
function guardedHandlers(guardian: SocketGuardian, socket: object, handlers: MessageHandler[]): MessageHandler[] {
  const guarded = handlers
    .filter((handler) => handler.message !== AUTHENTICATE_MESSAGE)
    .map((handler) => ({ ...handler, callback: (...args: unknown[]) => (guardian.admit(socket) ? handler.callback(...args) : undefined) }));
  guarded.push({
    message: AUTHENTICATE_MESSAGE,
    methodName: AUTHENTICATE_MESSAGE,
    callback: async (data: unknown) => {
      if (!guardian.admit(socket)) return undefined;
      const token = (data as { token?: unknown } | undefined)?.token;
      return (await guardian.authenticate(socket, token)) ? { event: 'authenticated', data: { ok: true } } : undefined;
    },
  });
  return guarded;
}

/**
 * A WebSocket adapter that holds every gateway of the app to the module's policy: the `ws` adapter or
 * socket.io's, extended (both are optional peers, loaded here on demand):
 *
 * ```ts
 * app.useWebSocketAdapter(await zeroTrustWebSocketAdapter(app, { library: 'ws', allowedOrigins: ['https://app.example.com'] }));
 * ```
 *
 * Handshake: Origin against `allowedOrigins`, the Authorization header if sent (else the first message,
 * `authenticate`, or socket.io's `auth.token`); frames over `maxMessageBytes` refused by the transport;
 * `messageLimit` messages per `messageWindow` per socket; sessions re-checked every
 * `revocationCheckInterval` and at expiry, the socket closed (4401) when either fails. Message handlers
 * are guarded like routes (the global guards, decorators and boot check): without this adapter they still
 * are, but a `ws` socket then has no way to present a token and every non-public handler refuses it.
 */
export async function zeroTrustWebSocketAdapter(
  app: INestApplicationContext,
  options: ZeroTrustWebSocketOptions & {
    library: 'ws' | 'socket.io';
    /**
     * Paths another WebSocket server of the same HTTP server answers (`['/graphql']` for GraphQL
     * subscriptions, which `zeroTrustGraphqlSubscriptions` guards): the `ws` adapter, which destroys every
     * upgrade to a path it does not serve, leaves these to their server. Exact paths only.
     */
    otherServerPaths?: readonly string[];
  },
): Promise<WebSocketAdapter & { readonly guardian: SocketGuardian }> {
  const { library, otherServerPaths = [], ...rest } = options ?? ({} as typeof options);
  if (!Array.isArray(otherServerPaths) || otherServerPaths.some((path) => typeof path !== 'string' || !path.startsWith('/'))) {
    throw new TypeError("zeroTrustWebSocketAdapter: otherServerPaths must list paths starting with '/' (e.g. ['/graphql'])");
  }
  const leftAlone = new Set(otherServerPaths);
  if (library !== 'ws' && library !== 'socket.io') throw new TypeError("zeroTrustWebSocketAdapter: library must be 'ws' or 'socket.io'");
  const guardian = new SocketGuardian(
    resolveWebSocketOptions(rest),
    app.get(AccessTokenVerifier, { strict: false }),
    app.get(AuditService, { strict: false }),
    app.get(StoreFailurePolicy, { strict: false }),
    app.get(Clock, { strict: false }),
    app.get<symbol, AuthConfig>(AUTH_CONFIG, { strict: false }),
  );
  const maxBytes = guardian.options.maxMessageBytes;

  if (library === 'ws') {
    const { WsAdapter } = await import('@nestjs/platform-ws');
    class ZeroTrustWsAdapter extends WsAdapter {
      readonly guardian = guardian;

      override create(port: number, options: Record<string, unknown> = {}) {
        return super.create(port, {
          ...options,
          maxPayload: maxBytes,
          verifyClient: (info: { req: IncomingMessage }, done: (result: boolean, code?: number) => void) => {
            guardian.checkHandshake(info.req).then(
              (result) => (result.ok ? done(true) : done(false, result.status)),
              () => done(false, 503),
            );
          },
        });
      }

      override ensureHttpServerExists(port: number, httpServer?: unknown) {
        const server = (super.ensureHttpServerExists as (port: number, httpServer?: unknown) => EventSource & { off(event: string, listener: Listener): void } | undefined).call(this, port, httpServer);
        const registry = (this as unknown as { upgradeListenersRegistry: Map<number, Listener> }).upgradeListenersRegistry;
        const refuseOthers = registry.get(port);
        if (!server || !refuseOthers || leftAlone.size === 0 || (refuseOthers as { zeroTrust?: true }).zeroTrust) return server as never;
        const listener = Object.assign(
          (...args: unknown[]) => {
            if (leftAlone.has(new URL((args[0] as IncomingMessage).url ?? '/', 'ws://localhost').pathname)) return;
            refuseOthers(...args);
          },
          { zeroTrust: true as const },
        );
        server.off('upgrade', refuseOthers);
        server.on('upgrade', listener);
        registry.set(port, listener);
        return server as never;
      }

      override bindClientConnect(server: EventSource, callback: Listener) {
        server.on('connection', (socket: unknown, request: unknown) => {
          (socket as EventSource).once?.('close', () => guardian.detach(socket as object));
          void guardian.attach(socket as object, request as IncomingMessage);
          callback(socket, request);
        });
      }

      override bindMessageHandlers(client: object, handlers: MessageHandler[], transform: (data: unknown) => never) {
        super.bindMessageHandlers(client, guardedHandlers(guardian, client, handlers) as never, transform);
      }

      override async dispose() {
        guardian.shutdown();
        await super.dispose();
      }
    }
    return new ZeroTrustWsAdapter(app) as unknown as WebSocketAdapter & { guardian: SocketGuardian };
  }

  const { IoAdapter } = await import('@nestjs/platform-socket.io');
  type IoServerOptions = Parameters<InstanceType<typeof IoAdapter>['createIOServer']>[1];
  class ZeroTrustIoAdapter extends IoAdapter {
    readonly guardian = guardian;

    override createIOServer(port: number, options?: IoServerOptions) {
      return super.createIOServer(port, {
        ...options,
        maxHttpBufferSize: maxBytes,
        // Every handshake request, polling or WebSocket: the same Origin and token checks.
        allowRequest: (request: IncomingMessage, done: (error: string | null, success: boolean) => void) => {
          guardian.checkHandshake(request).then(
            (result) => done(result.ok ? null : 'refused', result.ok),
            () => done('refused', false),
          );
        },
      } as IoServerOptions);
    }

    override bindClientConnect(server: EventSource, callback: Listener) {
      server.on('connection', (socket: unknown) => {
        const io = socket as EventSource & { request?: IncomingMessage; handshake?: { auth?: { token?: unknown } } };
        io.once?.('disconnect', () => guardian.detach(io));
        void guardian.attach(io, io.request, io.handshake?.auth?.token);
        callback(socket);
      });
    }

    override bindMessageHandlers(socket: object, handlers: MessageHandler[], transform: (data: unknown) => never) {
      super.bindMessageHandlers(socket as never, guardedHandlers(guardian, socket, handlers) as never, transform);
    }

    override async dispose() {
      guardian.shutdown();
      await super.dispose();
    }
  }
  return new ZeroTrustIoAdapter(app) as unknown as WebSocketAdapter & { guardian: SocketGuardian };
}

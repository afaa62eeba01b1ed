import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { SHUTDOWN_CONFIG } from './shutdown.internal-constants.js';
import type { ShutdownConfig } from './shutdown.options.js';

/**
 * Shutdown in the order a rolling deploy needs: stop accepting, drain the requests in flight (at most
 * `shutdown.drainSeconds`), cut what is left, and only then let the stores and the audit sinks close.
 *
 * Nest runs `onModuleDestroy` hooks first and closes the HTTP server last, so without this step the Redis
 * store and the audit sink closed while keep-alive connections were still being served: requests went
 * through with the rate limits failing open and without their audit rows. This runs in the first hook
 * Nest calls (`onModuleDestroy`); the store closes at `onApplicationShutdown` and the audit sinks flush at
 * `beforeApplicationShutdown`, both after it. A request arriving on a kept-alive connection while
 * draining is still served in full (limits, audit) with `Connection: close`, so its client reconnects to
 * another instance; once drained no connection is left to serve one.
 */
@Injectable()
export class GracefulShutdown implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('ZeroTrustModule');
  private readonly inFlight = new Set<ServerResponse>();
  private server?: Server;
  private draining = false;
  private drained?: () => void;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(SHUTDOWN_CONFIG) private readonly config: ShutdownConfig,
  ) {}

  onApplicationBootstrap(): void {
    const server = this.adapterHost.httpAdapter?.getHttpServer?.() as Server | undefined;
    if (!server || typeof server.prependListener !== 'function') return;
    this.server = server;
    // First of the request listeners: counts every request the adapter will see, its own answers included.
    server.prependListener('request', this.track);
  }

  /** Requests being served now. */
  get requestsInFlight(): number {
    return this.inFlight.size;
  }

  async onModuleDestroy(): Promise<void> {
    const server = this.server;
    if (!server || this.draining) return;
    this.draining = true;
    // No new connections; idle kept-alive ones are closed now, busy ones after their answer.
    if (server.listening) server.close();
    server.closeIdleConnections?.();
    for (const response of this.inFlight) if (!response.headersSent) response.setHeader('Connection', 'close');
    const waiting = this.inFlight.size;
    if (waiting > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.drained = resolve;
        timer = setTimeout(resolve, this.config.drainMs);
      });
      clearTimeout(timer);
    }
    const cut = this.inFlight.size;
    // Nothing may be served once the stores close: the connections still open go now.
    server.closeAllConnections?.();
    server.off('request', this.track);
    if (waiting > 0 || cut > 0) this.logger.log(`shutdown: drained ${waiting - cut} request(s) in flight, cut ${cut} after ${this.config.drainMs / 1000} s`);
  }

  private readonly track = (_request: IncomingMessage, response: ServerResponse): void => {
    this.inFlight.add(response);
    if (this.draining) response.setHeader('Connection', 'close');
    response.once('close', () => {
      this.inFlight.delete(response);
      if (this.draining) {
        this.server?.closeIdleConnections?.();
        if (this.inFlight.size === 0) this.drained?.();
      }
    });
  };
}

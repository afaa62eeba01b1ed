import type { INestApplication } from '@nestjs/common';
import { zeroTrustWebSocketAdapter } from 'nestjs-zero-trust';

/**
 * Browser origins allowed to open a socket: `ZT_WS_ORIGINS`, comma-separated; none by default. A socket
 * is not covered by CORS, so without this list any site a user visits could open one in the user's name
 * (cross-site WebSocket hijacking). A client that sends no Origin (a server, a test) is not a browser.
 */
export function webSocketOrigins(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.ZT_WS_ORIGINS ?? '')
    .split(',')
    .map((origin) => origin.trim())
    .filter(Boolean);
}

/**
 * Every gateway of the app under the module's socket rules: Origin and token checked at the handshake
 * (or an `authenticate` first message), sessions re-checked while the socket is open, message size and
 * rate limits. Without it a `ws` socket has no way to present a token, and every guarded handler refuses
 * it. Called by main.ts, and by the e2e tests before `listen`.
 */
export async function useZeroTrustWebSockets(app: INestApplication): Promise<void> {
  app.useWebSocketAdapter(await zeroTrustWebSocketAdapter(app, { library: 'ws', allowedOrigins: webSocketOrigins() }));
}

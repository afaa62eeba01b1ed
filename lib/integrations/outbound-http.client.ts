import { Inject, Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { INTEGRATIONS_CONFIG } from './integrations.internal-constants.js';
import { type IntegrationsConfig, isLoopback, type ResolvedIntegration } from './integrations.options.js';
import { OutboundCallRefused } from './outbound-call-refused.error.js';

export interface OutboundRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** Added to the URL's query string. */
  query?: Record<string, string>;
}

/**
 * The app's HTTP client for third parties (on Node's fetch): each call names an integration from the
 * configuration, goes only to that integration's hosts over TLS, carries its credentials (configured
 * or read from a secrets file at boot, never passed by the caller, never logged), is aborted after its
 * timeout, and is audited as `outbound.call` (integration, host, method, status, duration).
 *
 * Redirects are not followed (`redirect: 'manual'`): a redirect to another host would carry the
 * credentials off the allow-list. A caller that expects one reads the 3xx answer itself.
 */
@Injectable()
export class OutboundHttpClient {
  constructor(
    @Inject(INTEGRATIONS_CONFIG) private readonly config: IntegrationsConfig,
    private readonly audit: AuditService,
  ) {}

  /** Calls `target` (a path under the integration's base URL, or an absolute URL on one of its hosts). */
  async request(integration: string, target: string, request: OutboundRequest = {}): Promise<Response> {
    let url: URL;
    try {
      const resolved = this.config.integrations.get(integration);
      if (!resolved) throw new OutboundCallRefused(integration, 'unknown_integration', 'no such integration is configured');
      url = this.urlOf(resolved, target);
    } catch (error) {
      if (error instanceof OutboundCallRefused) this.audit.publish({ type: 'outbound.call', outcome: 'denied', reason: error.reason, details: { integration } });
      throw error;
    }
    const resolved = this.config.integrations.get(integration)!;
    for (const [name, value] of Object.entries(request.query ?? {})) url.searchParams.append(name, value);
    const method = (request.method ?? 'GET').toUpperCase();
    const headers = new Headers(request.headers);
    // The configured credential wins over anything the caller set under the same name.
    if (resolved.authorization) headers.set(resolved.authorization.name, resolved.authorization.value);
    const started = performance.now();
    let status: number | undefined;
    try {
      const response = await fetch(url, { method, headers, body: request.body, redirect: 'manual', signal: AbortSignal.timeout(resolved.timeout * 1000) });
      status = response.status;
      return response;
    } finally {
      this.audit.publish({
        type: 'outbound.call',
        outcome: status !== undefined && status < 400 ? 'success' : 'failure',
        reason: status === undefined ? 'no_response' : undefined,
        details: { integration, host: url.host, method, status, durationMs: Math.round(performance.now() - started) },
      });
    }
  }

  private urlOf(integration: ResolvedIntegration, target: string): URL {
    // A relative target stays under the base URL's origin: `//evil.test/x` and `https://…` are absolute, so they are checked as such.
    const absolute = /^[a-z][a-z0-9+.-]*:|^\/\//i.test(target);
    const base = integration.baseUrl;
    const url = absolute ? new URL(target, base.origin) : new URL(`${base.pathname.replace(/\/$/, '')}/${target.replace(/^\//, '')}`, base.origin);
    if (url.username || url.password) throw new OutboundCallRefused(integration.name, 'credentials_in_url', 'credentials belong in the integration configuration, not in the URL');
    if (!integration.hosts.has(url.host)) throw new OutboundCallRefused(integration.name, 'host_not_allowed', `host "${url.host}" is not on its allow-list`);
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && this.config.loopbackHttp && isLoopback(url.hostname))) {
      throw new OutboundCallRefused(integration.name, 'insecure_scheme', `${url.protocol} is not allowed (https only; http for loopback outside production)`);
    }
    return url;
  }
}

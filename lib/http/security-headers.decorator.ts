import { SetMetadata } from '@nestjs/common';
import { SECURITY_HEADERS_KEY } from './http.constants.js';
import type { SecurityHeadersOptions } from './security-headers.js';

/**
 * Overrides security headers for one route or controller (e.g. a public JWKS endpoint that may be
 * cached: `@SecurityHeaders({ 'Cache-Control': 'public, max-age=300' })`). `false` removes a header.
 * Checked at boot like the app-wide option. Error responses of the route keep the app-wide headers.
 */
export const SecurityHeaders = (overrides: SecurityHeadersOptions) => SetMetadata(SECURITY_HEADERS_KEY, overrides);

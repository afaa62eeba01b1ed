import { SetMetadata } from '@nestjs/common';
import { SECURITY_HEADERS_KEY } from '../zero-trust.constants.js';
import type { SecurityHeaderOverrides } from './security-headers.js';

/**
 * Overrides security headers for one route or controller (e.g. a public JWKS endpoint that may be
 * cached: `@SecurityHeaders({ 'Cache-Control': 'public, max-age=300' })`). `false` removes a header.
 * Error responses of the route keep the app-wide headers.
 */
export const SecurityHeaders = (overrides: SecurityHeaderOverrides) => SetMetadata(SECURITY_HEADERS_KEY, overrides);

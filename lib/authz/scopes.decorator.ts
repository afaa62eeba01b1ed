import { SetMetadata } from '@nestjs/common';
import { SCOPES_KEY } from './authz.constants.js';

/**
 * The caller's token must carry every listed scope. On a controller and a handler, both lists apply.
 * Counts as the route's authorization rule.
 */
export const Scopes = (...scopes: [string, ...string[]]) => SetMetadata(SCOPES_KEY, scopes);

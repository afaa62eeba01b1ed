import { applyDecorators, SetMetadata, UseGuards } from '@nestjs/common';
import { Public } from '../auth/public.decorator.js';
import { ApiKeyGuard } from './api-key.guard.js';
import { API_KEY_SCOPES_KEY } from './clients.constants.js';

/**
 * The route is called with an API key (the `x-api-key` header) instead of an access token, and the key
 * must hold every scope listed. Access tokens are not accepted here: one credential per route.
 */
export const ApiKeyAuth = (...scopes: string[]) => applyDecorators(Public(), SetMetadata(API_KEY_SCOPES_KEY, scopes), UseGuards(ApiKeyGuard));

import { SetMetadata } from '@nestjs/common';
import { IS_PUBLIC_KEY } from './auth.constants.js';

/**
 * Opts a route or a whole controller out of authentication. Everything else needs a valid access
 * token: forgetting a decorator fails closed, never open.
 */
export const Public = () => SetMetadata(IS_PUBLIC_KEY, true);

import { SetMetadata } from '@nestjs/common';
import { AUTH_THROTTLE_KEY } from './throttle.constants.js';

/**
 * Applies the strict `auth` rate limit (default 10 per minute per client address) on top of the
 * default one. Put it on login, register, refresh, MFA and password routes.
 */
export const AuthThrottle = () => SetMetadata(AUTH_THROTTLE_KEY, true);

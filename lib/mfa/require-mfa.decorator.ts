import { SetMetadata } from '@nestjs/common';
import { REQUIRE_MFA_KEY } from './mfa.constants.js';

/** Authentication methods (RFC 8176 `amr`) that prove a second factor. */
export const MFA_METHODS: readonly string[] = ['mfa', 'otp', 'hwk', 'swk'];

/**
 * The route demands a session that passed a second factor (`amr` contains `mfa`, `otp`, `hwk` or
 * `swk`). Otherwise 403 and an `access.denied` event with reason `mfa_required`. Counts as the
 * route's authorization rule ("any signed-in user with MFA") and adds to the others.
 */
export const RequireMfa = () => SetMetadata(REQUIRE_MFA_KEY, true);

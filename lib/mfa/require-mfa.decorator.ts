import { SetMetadata } from '@nestjs/common';
import { REQUIRE_MFA_KEY } from './mfa.constants.js';

/** Authentication methods (RFC 8176 `amr`) that prove a second factor. */
export const MFA_METHODS: readonly string[] = ['mfa', 'otp', 'hwk', 'swk'];

/**
 * The `acr` (authentication context class) a session that proved a second factor carries in its access
 * tokens, and the value RFC 9470's challenge asks for (`acr_values="mfa"`) when a factor is demanded.
 */
export const MFA_ACR = 'mfa';

/**
 * The route demands a session that passed a second factor (`amr` contains `mfa`, `otp`, `hwk` or
 * `swk`). Otherwise 403 and an `access.denied` event with reason `mfa_required`. Counts as the
 * route's authorization rule ("any signed-in user with MFA") and adds to the others.
 */
export const RequireMfa = () => SetMetadata(REQUIRE_MFA_KEY, true);
